"""The sandbox's own storage: SQLite, independent of hotich's MongoDB, as the real system is.

Two tables: ``records`` holds one row per national record (its current body), ``writes``
one row per applied write (the create, then each update), keyed by the sender's
idempotency key. A key is applied at most once (primary key), which is what "exactly
once" checks count.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    national_id TEXT UNIQUE NOT NULL,
    idempotency_key TEXT UNIQUE NOT NULL,
    unit_code TEXT,
    record_type TEXT,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS records_unit ON records(unit_code);
CREATE TABLE IF NOT EXISTS writes (
    idempotency_key TEXT PRIMARY KEY,
    national_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    source_version INTEGER,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS writes_national_id ON writes(national_id);
"""

_ADDED_COLUMNS = {"source_record_id": "TEXT", "source_version": "INTEGER"}
"""Columns added after the first release; an older file gets them on open."""

_COLUMNS = (
    "seq, national_id, idempotency_key, unit_code, record_type, body, created_at, updated_at,"
    " version, source_record_id, source_version"
)


class UpdateOutcome(StrEnum):
    """What :meth:`SandboxStore.update` did."""

    APPLIED = "applied"
    REPEATED = "repeated"
    """The idempotency key was applied before: nothing changed."""
    STALE = "stale"
    """The record already holds this source version or a later one: refused."""
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Stored:
    """A record held by the national database."""

    national_id: str
    idempotency_key: str
    """The key of the write that created it."""
    unit_code: str | None
    record_type: str | None
    body: dict[str, Any]
    created_at: str
    updated_at: str
    version: int
    """Revision: 1 as created, +1 per applied update."""
    source_record_id: str | None
    source_version: int | None
    seq: int
    """Position in the store: list pages continue after it."""
    keys: list[str] = field(default_factory=list)
    """Idempotency keys of every write applied to it, oldest first."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SandboxStore:
    """SQLite store; one connection guarded by a lock (the app calls it from its event loop)."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._migrate()
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(records)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in have:
                self._conn.execute(f"ALTER TABLE records ADD COLUMN {name} {kind}")
        self._conn.execute("CREATE INDEX IF NOT EXISTS records_source ON records(source_record_id)")
        # A file from the first release has creates only, no writes table rows.
        self._conn.execute(
            "INSERT OR IGNORE INTO writes(idempotency_key, national_id, operation, at)"
            " SELECT idempotency_key, national_id, 'create', created_at FROM records"
        )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def create(self, key: str, body: dict[str, Any]) -> tuple[str, str, bool]:
        """Store ``body`` under ``key`` unless the key was applied.

        Returns:
            (national id, created at, created): ``created`` is False when the key had been
            applied before (the national id is then the one it got).

        ``body`` is the create request: ``unit_code``, ``source_record_id``,
        ``source_version`` and ``record``.
        """
        now = _now()
        record = body.get("record") or {}
        with self._transaction() as conn:
            held = conn.execute(
                "SELECT national_id FROM writes WHERE idempotency_key=?", (key,)
            ).fetchone()
            if held is None:
                cur = conn.execute(
                    "INSERT INTO records(national_id, idempotency_key, unit_code, record_type,"
                    " body, created_at, updated_at, source_record_id, source_version)"
                    " VALUES ('pending:' || ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        key,
                        body.get("unit_code"),
                        record.get("record_type"),
                        json.dumps(body, ensure_ascii=False),
                        now,
                        now,
                        body.get("source_record_id"),
                        body.get("source_version"),
                    ),
                )
                unit = str(body.get("unit_code") or "00")
                national_id = f"VN-{unit[:2]}-{cur.lastrowid:010d}"
                conn.execute(
                    "UPDATE records SET national_id=? WHERE seq=?", (national_id, cur.lastrowid)
                )
                conn.execute(
                    "INSERT INTO writes(idempotency_key, national_id, operation, source_version,"
                    " at) VALUES (?, ?, 'create', ?, ?)",
                    (key, national_id, body.get("source_version"), now),
                )
            else:
                national_id = held[0]
        return national_id, now, held is None

    def update(
        self, national_id: str, key: str | None, body: dict[str, Any]
    ) -> tuple[UpdateOutcome, Stored | None]:
        """Apply a corrected version to record ``national_id``, once per ``key``.

        A version not newer than the one held is refused (:attr:`UpdateOutcome.STALE`), so
        a late or replayed correction never overwrites a newer one.
        """
        now = _now()
        version = body.get("source_version")
        with self._transaction() as conn:
            if key is not None:
                held = conn.execute(
                    "SELECT national_id FROM writes WHERE idempotency_key=?", (key,)
                ).fetchone()
                if held is not None:
                    return UpdateOutcome.REPEATED, self._get(held[0])
            row = conn.execute(
                "SELECT source_version FROM records WHERE national_id=?", (national_id,)
            ).fetchone()
            if row is None:
                return UpdateOutcome.NOT_FOUND, None
            if isinstance(version, int) and isinstance(row[0], int) and version <= row[0]:
                return UpdateOutcome.STALE, self._get(national_id)
            record = body.get("record") or {}
            conn.execute(
                "UPDATE records SET body=?, updated_at=?, version=version+1, record_type=?,"
                " source_version=? WHERE national_id=?",
                (
                    json.dumps(body, ensure_ascii=False),
                    now,
                    record.get("record_type"),
                    version,
                    national_id,
                ),
            )
            if key is not None:
                conn.execute(
                    "INSERT INTO writes(idempotency_key, national_id, operation, source_version,"
                    " at) VALUES (?, ?, 'update', ?, ?)",
                    (key, national_id, version, now),
                )
        return UpdateOutcome.APPLIED, self.get(national_id)

    def _rows(self, where: str, args: tuple[Any, ...]) -> list[Stored]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM records WHERE {where}", args).fetchall()
        if not rows:
            return []
        ids = [r[1] for r in rows]
        keys: dict[str, list[str]] = {i: [] for i in ids}
        marks = ",".join("?" * len(ids))
        for key, nid in self._conn.execute(
            f"SELECT idempotency_key, national_id FROM writes WHERE national_id IN ({marks})"
            " ORDER BY at, rowid",
            ids,
        ):
            keys[nid].append(key)
        return [
            Stored(
                national_id=r[1],
                idempotency_key=r[2],
                unit_code=r[3],
                record_type=r[4],
                body=json.loads(r[5]),
                created_at=r[6],
                updated_at=r[7],
                version=r[8],
                source_record_id=r[9],
                source_version=r[10],
                seq=r[0],
                keys=keys[r[1]],
            )
            for r in rows
        ]

    def _get(self, national_id: str) -> Stored | None:
        found = self._rows("national_id = ?", (national_id,))
        return found[0] if found else None

    def get(self, national_id: str) -> Stored | None:
        """Return the record with ``national_id``."""
        with self._lock:
            return self._get(national_id)

    def national_id_of(self, key: str) -> str | None:
        """The national id a write with idempotency key ``key`` was applied to, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT national_id FROM writes WHERE idempotency_key=?", (key,)
            ).fetchone()
        return None if row is None else str(row[0])

    def by_key(self, key: str) -> Stored | None:
        """Return the record a write with idempotency key ``key`` was applied to."""
        with self._lock:
            row = self._conn.execute(
                "SELECT national_id FROM writes WHERE idempotency_key=?", (key,)
            ).fetchone()
            return None if row is None else self._get(row[0])

    def list_unit(self, unit_code: str, limit: int, after_seq: int) -> list[Stored]:
        """Return up to ``limit`` records of ``unit_code`` after ``after_seq``, in seq order."""
        with self._lock:
            return self._rows(
                "unit_code = ? AND seq > ? ORDER BY seq LIMIT ?", (unit_code, after_seq, limit)
            )

    def delete(self, national_id: str) -> bool:
        """Forget a record and its writes (admin: simulates data lost on the national side)."""
        with self._transaction() as conn:
            cur = conn.execute("DELETE FROM records WHERE national_id=?", (national_id,))
            conn.execute("DELETE FROM writes WHERE national_id=?", (national_id,))
        return cur.rowcount > 0

    def reset(self) -> None:
        """Forget everything (admin: a clean slate between benchmark runs)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM records")
            conn.execute("DELETE FROM writes")

    def stats(self) -> dict[str, Any]:
        """Counts of what is held, so tests can check "exactly once"."""
        with self._lock:
            one = self._conn.execute
            records = one("SELECT COUNT(*) FROM records").fetchone()[0]
            writes = one("SELECT COUNT(*) FROM writes").fetchone()[0]
            creates = one("SELECT COUNT(*) FROM writes WHERE operation='create'").fetchone()[0]
            sources = one(
                "SELECT COUNT(DISTINCT source_record_id) FROM records"
                " WHERE source_record_id IS NOT NULL"
            ).fetchone()[0]
            duplicate_sources = one(
                "SELECT COUNT(*) FROM (SELECT source_record_id FROM records"
                " WHERE source_record_id IS NOT NULL GROUP BY source_record_id"
                " HAVING COUNT(*) > 1)"
            ).fetchone()[0]
            by_type = dict(
                one("SELECT record_type, COUNT(*) FROM records GROUP BY record_type").fetchall()
            )
        return {
            "records": records,
            "writes": writes,
            "creates": creates,
            "updates": writes - creates,
            "distinct_keys": writes,
            "distinct_sources": sources,
            "duplicate_sources": duplicate_sources,
            "by_type": by_type,
        }

    def close(self) -> None:
        """Close the database."""
        self._conn.close()

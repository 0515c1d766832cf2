"""The sandbox's own storage: SQLite, independent of hotich's MongoDB, as the real system is.

Two tables: ``records`` holds one row per national record (its current body), ``writes``
one row per applied write (the create, then each update), keyed by the sender's
idempotency key. A key is applied at most once (primary key), which is what "exactly
once" checks count.

A third, ``counts``, keeps the figures ``GET /v1/stats`` answers with (records, writes,
creates, distinct and duplicated sources, records per type), changed in the same
transaction as each write. Counting them from the two tables instead took 0.76 s of CPU
at a million records, with the store's lock held: a benchmark asking every second held
up the exports it was measuring. A file without them gets them counted once on open.
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
CREATE TABLE IF NOT EXISTS counts (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

_COUNTED = "_counted"
"""The row that says the counts were made (a file from before them has none)."""
_TOTALS = ("records", "writes", "creates", "sources", "duplicate_sources")
_TYPE = "type:"
_NO_TYPE = "type-none"
"""Count names of the records per type (a record without one counts under ``_NO_TYPE``)."""


def _type_count(record_type: str | None) -> str:
    return _NO_TYPE if record_type is None else _TYPE + record_type


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
        self._lock = threading.Lock()
        self._migrate()

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
        if self._conn.execute("SELECT 1 FROM counts WHERE name=?", (_COUNTED,)).fetchone() is None:
            with self._transaction() as conn:
                conn.execute("DELETE FROM counts")
                self._add(conn, self.recount() | {_COUNTED: 1})

    @staticmethod
    def _add(conn: sqlite3.Connection, deltas: dict[str, int]) -> None:
        """Add ``deltas`` to the named counts (inside the caller's transaction)."""
        conn.executemany(
            "INSERT INTO counts(name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            [(name, delta) for name, delta in deltas.items() if delta],
        )

    @staticmethod
    def _held_by_source(conn: sqlite3.Connection, source: Any) -> int:
        """How many records carry ``source`` as their source record id: 0, 1 or 2 (more)."""
        row = conn.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM records WHERE source_record_id=? LIMIT 2)",
            (source,),
        ).fetchone()
        return int(row[0])

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
                source = body.get("source_record_id")
                others = None if source is None else self._held_by_source(conn, source)
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
                counted = {"records": 1, "writes": 1, "creates": 1}
                counted[_type_count(record.get("record_type"))] = 1
                counted["sources"] = int(others == 0)
                counted["duplicate_sources"] = int(others == 1)
                self._add(conn, counted)
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
                "SELECT source_version, record_type FROM records WHERE national_id=?",
                (national_id,),
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
            counted = {"writes": int(key is not None)}
            if record.get("record_type") != row[1]:
                counted[_type_count(row[1])] = -1
                counted[_type_count(record.get("record_type"))] = 1
            self._add(conn, counted)
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
            row = conn.execute(
                "SELECT record_type, source_record_id FROM records WHERE national_id=?",
                (national_id,),
            ).fetchone()
            creates = conn.execute(
                "SELECT COUNT(*) FROM writes WHERE national_id=? AND operation='create'",
                (national_id,),
            ).fetchone()[0]
            cur = conn.execute("DELETE FROM records WHERE national_id=?", (national_id,))
            writes = conn.execute("DELETE FROM writes WHERE national_id=?", (national_id,))
            counted = {"writes": -writes.rowcount, "creates": -int(creates)}
            if row is not None:
                counted |= {"records": -1, _type_count(row[0]): -1}
                if row[1] is not None:
                    left = self._held_by_source(conn, row[1])
                    counted["sources"] = -int(left == 0)
                    counted["duplicate_sources"] = -int(left == 1)
            self._add(conn, counted)
        return cur.rowcount > 0

    def reset(self) -> None:
        """Forget everything (admin: a clean slate between benchmark runs)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM records")
            conn.execute("DELETE FROM writes")
            conn.execute("DELETE FROM counts WHERE name != ?", (_COUNTED,))

    def stats(self) -> dict[str, Any]:
        """Counts of what is held, so tests can check "exactly once" (kept, not counted)."""
        with self._lock:
            held = dict(self._conn.execute("SELECT name, value FROM counts").fetchall())
        return _figures(held)

    def recount(self) -> dict[str, int]:
        """The counts :meth:`stats` keeps, counted from the tables (a full scan of both)."""
        one = self._conn.execute
        counts = {
            "records": one("SELECT COUNT(*) FROM records").fetchone()[0],
            "writes": one("SELECT COUNT(*) FROM writes").fetchone()[0],
            "creates": one("SELECT COUNT(*) FROM writes WHERE operation='create'").fetchone()[0],
            "sources": one(
                "SELECT COUNT(DISTINCT source_record_id) FROM records"
                " WHERE source_record_id IS NOT NULL"
            ).fetchone()[0],
            "duplicate_sources": one(
                "SELECT COUNT(*) FROM (SELECT source_record_id FROM records"
                " WHERE source_record_id IS NOT NULL GROUP BY source_record_id"
                " HAVING COUNT(*) > 1)"
            ).fetchone()[0],
        }
        for record_type, n in one("SELECT record_type, COUNT(*) FROM records GROUP BY record_type"):
            counts[_type_count(record_type)] = n
        return counts

    def recounted_stats(self) -> dict[str, Any]:
        """:meth:`stats` as the tables count it now (what the kept counts must equal)."""
        with self._lock:
            return _figures(self.recount())

    def close(self) -> None:
        """Close the database."""
        self._conn.close()


def _figures(counts: dict[str, int]) -> dict[str, Any]:
    """The stats answer from the named counts."""
    got = {name: int(counts.get(name, 0)) for name in _TOTALS}
    by_type: dict[str | None, int] = {}
    for name, n in counts.items():
        if n and name == _NO_TYPE:
            by_type[None] = n
        elif n and name.startswith(_TYPE):
            by_type[name.removeprefix(_TYPE)] = n
    return {
        "records": got["records"],
        "writes": got["writes"],
        "creates": got["creates"],
        "updates": got["writes"] - got["creates"],
        "distinct_keys": got["writes"],
        "distinct_sources": got["sources"],
        "duplicate_sources": got["duplicate_sources"],
        "by_type": by_type,
    }

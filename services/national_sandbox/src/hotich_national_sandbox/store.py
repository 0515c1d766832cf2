"""The sandbox's own storage: SQLite, independent of hotich's MongoDB, as the real system is."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
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
"""


@dataclass(frozen=True)
class Stored:
    """A record held by the national database."""

    national_id: str
    idempotency_key: str
    unit_code: str | None
    record_type: str | None
    body: dict[str, Any]
    created_at: str
    updated_at: str
    version: int


class SandboxStore:
    """Thread-safe SQLite store (FastAPI runs sync endpoints in a thread pool)."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def create(
        self, key: str, unit_code: str | None, record_type: str | None, body: dict[str, Any]
    ) -> tuple[Stored, bool]:
        """Store ``body`` under ``key`` unless the key exists; return (record, created)."""
        now = datetime.now(UTC).isoformat()
        with self._lock:
            existing = self.by_key(key)
            if existing is not None:
                return existing, False
            cur = self._conn.execute(
                "INSERT INTO records(national_id, idempotency_key, unit_code, record_type, body,"
                " created_at, updated_at) VALUES ('pending', ?, ?, ?, ?, ?, ?)",
                (key, unit_code, record_type, json.dumps(body, ensure_ascii=False), now, now),
            )
            seq = cur.lastrowid
            national_id = f"VN-{(unit_code or '00')[:2]}-{seq:010d}"
            self._conn.execute("UPDATE records SET national_id=? WHERE seq=?", (national_id, seq))
        stored = self.get(national_id)
        assert stored is not None
        return stored, True

    def update(self, national_id: str, body: dict[str, Any]) -> Stored | None:
        """Replace the body of a record (a corrected version)."""
        now = datetime.now(UTC).isoformat()
        with self._lock:
            cur = self._conn.execute(
                "UPDATE records SET body=?, updated_at=?, version=version+1 WHERE national_id=?",
                (json.dumps(body, ensure_ascii=False), now, national_id),
            )
        return self.get(national_id) if cur.rowcount else None

    def _one(self, where: str, arg: str) -> Stored | None:
        row = self._conn.execute(
            "SELECT national_id, idempotency_key, unit_code, record_type, body, created_at,"
            f" updated_at, version FROM records WHERE {where} = ?",
            (arg,),
        ).fetchone()
        if row is None:
            return None
        return Stored(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6], row[7])

    def get(self, national_id: str) -> Stored | None:
        """Return the record with ``national_id``."""
        return self._one("national_id", national_id)

    def by_key(self, key: str) -> Stored | None:
        """Return the record created with idempotency key ``key``."""
        return self._one("idempotency_key", key)

    def list_unit(self, unit_code: str, limit: int, after_seq: int) -> list[tuple[int, Stored]]:
        """Return up to ``limit`` records of ``unit_code`` after ``after_seq``."""
        rows = self._conn.execute(
            "SELECT seq, national_id FROM records WHERE unit_code=? AND seq>? ORDER BY seq LIMIT ?",
            (unit_code, after_seq, limit),
        ).fetchall()
        return [(seq, s) for seq, nid in rows if (s := self.get(nid)) is not None]

    def stats(self) -> dict[str, Any]:
        """Counts, so tests can check "exactly once"."""
        total = self._conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        keys = self._conn.execute("SELECT COUNT(DISTINCT idempotency_key) FROM records").fetchone()[
            0
        ]
        by_type = dict(
            self._conn.execute(
                "SELECT record_type, COUNT(*) FROM records GROUP BY record_type"
            ).fetchall()
        )
        return {"records": total, "distinct_keys": keys, "by_type": by_type}

    def close(self) -> None:
        """Close the database."""
        self._conn.close()

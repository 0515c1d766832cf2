"""Intake's own view of accounts and records (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotich_runtime.auth import Role


@dataclass
class Account:
    """A login of a clerk or officer (tài khoản), created by the Department of Justice."""

    username: str
    unit_code: str
    role: Role
    password_hash: str
    locked: bool = False
    created_at: datetime | None = None
    locked_at: datetime | None = None


@dataclass
class RecordView:
    """What intake knows of a record: the latest version and its lifecycle."""

    record_id: str
    version: int
    unit_code: str
    entered_by: str
    record_type: str
    status: str
    phase: int | str | None
    reasons: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    national_id: str | None
    record: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None

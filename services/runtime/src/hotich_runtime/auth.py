"""Bearer tokens and roles, shared by every service with an HTTP API.

Intake issues the tokens (OAuth2 password flow) and is the only service that knows
passwords and locks; the other services verify the signature and read the claims.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

ALGORITHM = "HS256"


class Role(StrEnum):
    """Roles of the public contract."""

    CLERK = "clerk"
    """cán bộ tư pháp – hộ tịch: enters and corrects its own unit's records."""
    DISTRICT_OFFICER = "district_officer"
    """Phòng Tư pháp: reads its district and communes, reviews duplicates."""
    DEPARTMENT_OFFICER = "department_officer"
    """Sở Tư pháp: reads the province, runs acceptance."""
    MIGRATION_OPERATOR = "migration_operator"
    """Sở TTTT: bulk import of local software data."""
    ADMIN = "admin"
    """Manages accounts."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account, its unit and its role."""

    username: str
    unit_code: str
    role: Role


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or badly signed."""


def issue_token(principal: Principal, secret: str, ttl: timedelta) -> str:
    """Return a signed token carrying the principal."""
    now = datetime.now(UTC)
    claims = {
        "sub": principal.username,
        "unit": principal.unit_code,
        "role": principal.role.value,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str) -> Principal:
    """Verify ``token`` and return its principal.

    Raises:
        InvalidToken: when it cannot be trusted.
    """
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
        return Principal(claims["sub"], claims["unit"], Role(claims["role"]))
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc

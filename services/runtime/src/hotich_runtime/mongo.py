"""The one place that creates MongoDB clients (motor).

motor is deprecated in favour of PyMongo's ``AsyncMongoClient``; every service keeps its
motor calls in one adapter module so the switch is one file per service.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from motor.motor_asyncio import (
    AsyncIOMotorClient,
    AsyncIOMotorClientSession,
    AsyncIOMotorDatabase,
)
from pymongo.errors import PyMongoError

T = TypeVar("T")


def make_client(url: str, *, app_name: str) -> AsyncIOMotorClient[dict[str, Any]]:
    """Return a client with short server-selection timeouts, so outages surface fast."""
    return AsyncIOMotorClient(
        url,
        appname=app_name,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
        tz_aware=True,
        uuidRepresentation="standard",
    )


def database(
    client: AsyncIOMotorClient[dict[str, Any]], name: str
) -> AsyncIOMotorDatabase[dict[str, Any]]:
    """Return the service's own database."""
    return client[name]


async def ping(client: AsyncIOMotorClient[dict[str, Any]]) -> bool:
    """Return True when the store answers."""
    try:
        await client.admin.command("ping")
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
    return True


async def in_transaction(
    client: AsyncIOMotorClient[dict[str, Any]],
    work: Callable[[AsyncIOMotorClientSession], Awaitable[T]],
    *,
    within: float = 30.0,
) -> T:
    """Run ``work(session)`` in a transaction and commit it, retrying as the driver spec says.

    ``session.with_transaction`` does not retry a commit that fails with
    ``TransientTransactionError``: motor's transaction context commits on leaving the
    block, outside the retry. A store that detects write conflicts at commit (SecantusDB's
    Rust server does, for two writers creating one collection) then fails the whole call.
    Here a transient error, at any step, runs ``work`` again from the start, and a commit
    of unknown outcome is committed again, for ``within`` seconds with jittered backoff.

    Raises:
        PyMongoError: Not transient, or still failing after ``within`` seconds.
    """
    deadline = time.monotonic() + within
    attempt = 0
    async with await client.start_session() as session:
        while True:
            attempt += 1
            session.start_transaction()
            try:
                result = await work(session)
                while True:
                    try:
                        await session.commit_transaction()
                        return result
                    except PyMongoError as exc:
                        unknown = exc.has_error_label("UnknownTransactionCommitResult")
                        if not unknown or time.monotonic() > deadline:
                            raise
            except PyMongoError as exc:
                if session.delegate.in_transaction:
                    await session.abort_transaction()
                if not exc.has_error_label("TransientTransactionError"):
                    raise
                if time.monotonic() > deadline:
                    raise
            except BaseException:
                if session.delegate.in_transaction:
                    await session.abort_transaction()
                raise
            await asyncio.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))

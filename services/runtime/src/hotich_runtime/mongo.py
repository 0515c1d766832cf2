"""The one place that creates MongoDB clients (motor).

motor is deprecated in favour of PyMongo's ``AsyncMongoClient``; every service keeps its
motor calls in one adapter module so the switch is one file per service.
"""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase


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

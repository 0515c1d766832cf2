"""The dedup store under test: the in-memory fake and the real MongoDB adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient

from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.adapters.mongo_store import MongoDedupStore
from hotich_runtime import mongo

pytestmark = pytest.mark.integration


@pytest.fixture
async def mongo_stores(
    mongodb_url: str, database_name: str
) -> AsyncIterator[Callable[[], MongoDedupStore]]:
    """A factory of stores on one database, each with its own client (an instance each)."""
    clients: list[AsyncIOMotorClient[dict[str, Any]]] = []

    def make() -> MongoDedupStore:
        client = mongo.make_client(mongodb_url, app_name="test-dedup")
        clients.append(client)
        return MongoDedupStore(client[database_name])

    try:
        await make().ensure_indexes()
        yield make
        await clients[0].drop_database(database_name)
    finally:
        for client in clients:
            client.close()


@pytest.fixture(params=["memory", "mongo"])
def dedup_store(request: pytest.FixtureRequest, mongo_stores: Callable[[], MongoDedupStore]) -> Any:
    """The same behaviour suite runs on the fake and on the real adapter."""
    return InMemoryDedupStore() if request.param == "memory" else mongo_stores()

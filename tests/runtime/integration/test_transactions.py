"""``hotich_runtime.mongo.in_transaction`` against the real store: conflicts are retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorClientSession
from pymongo.errors import OperationFailure, PyMongoError

from hotich_runtime.mongo import in_transaction, make_client

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(mongodb_url: str) -> AsyncIterator[AsyncIOMotorClient[dict[str, Any]]]:
    made = make_client(mongodb_url, app_name="test")
    yield made
    made.close()


async def test_a_write_conflict_runs_the_work_again_until_it_commits(
    client: AsyncIOMotorClient[dict[str, Any]], database_name: str
) -> None:
    counters = client[database_name]["counters"]
    await counters.insert_one({"_id": "c", "n": 0})
    attempts = 0
    holder = await client.start_session()
    holder.start_transaction()
    # Another transaction holds the document: the first attempt conflicts with it.
    await counters.update_one({"_id": "c"}, {"$inc": {"n": 10}}, session=holder)

    async def work(session: AsyncIOMotorClientSession) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 2:  # the holder commits while this one waits to try again
            await holder.commit_transaction()
        await counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}, session=session)
        return attempts

    assert await in_transaction(client, work) >= 2
    assert (await counters.find_one({"_id": "c"}) or {})["n"] == 11  # both, once each
    await holder.end_session()


async def test_a_failure_that_is_not_transient_aborts_and_is_raised(
    client: AsyncIOMotorClient[dict[str, Any]], database_name: str
) -> None:
    items = client[database_name]["items"]
    calls = 0

    async def work(session: AsyncIOMotorClientSession) -> None:
        nonlocal calls
        calls += 1
        await items.insert_one({"_id": 1}, session=session)
        raise OperationFailure("not transient", code=2)

    with pytest.raises(OperationFailure, match="not transient"):
        await in_transaction(client, work)
    assert calls == 1
    assert await items.count_documents({}) == 0  # aborted: nothing written

    async def fails_transiently(session: AsyncIOMotorClientSession) -> Any:
        error = PyMongoError("conflict")
        error._add_error_label("TransientTransactionError")
        raise error

    with pytest.raises(PyMongoError, match="conflict"):
        await asyncio.wait_for(in_transaction(client, fails_transiently, within=0.2), 10)

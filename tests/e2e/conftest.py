"""A running stack for end-to-end tests: the real services as processes.

The stack starts a broker of its own (real Kafka where Java is present) unless
``HOTICH_TEST_KAFKA_BOOTSTRAP`` names one: the session's shared broker carries events
other tests published on the same topic names, and a fresh consumer group reads a
topic from its beginning, so the pipeline would process them too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hotich_local import accounts, stack


@pytest.fixture(scope="session")
async def running_stack(
    mongodb_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[stack.StackState]:
    home: Path = tmp_path_factory.mktemp("hotich-home")
    config = stack.StackConfig.load(
        str(home),
        external_kafka=os.environ.get("HOTICH_TEST_KAFKA_BOOTSTRAP"),
        external_mongodb=mongodb_url,
        free_ports=True,
        database_prefix=f"e2e_{home.name}_",
    )
    state = await stack.up(config)
    try:
        yield state
    finally:
        stack.down(config)


@pytest.fixture(scope="module")
async def clerk_token(running_stack: stack.StackState) -> str:
    username = f"clerk-{uuid.uuid4().hex[:8]}"
    await accounts.create(
        running_stack.mongodb_url,
        username,
        "clerk-password",
        "25459",
        "clerk",
        database=running_stack.intake_database,
    )
    async with httpx.AsyncClient(base_url=running_stack.urls["intake"]) as client:
        response = await client.post(
            "/v1/auth/token", data={"username": username, "password": "clerk-password"}
        )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])

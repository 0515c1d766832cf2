"""A running stack for end-to-end tests: the real services as processes, over the
broker and store the infra fixtures chose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotich_local import stack


@pytest.fixture(scope="session")
async def running_stack(
    kafka_bootstrap: str, mongodb_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[stack.StackState]:
    home: Path = tmp_path_factory.mktemp("hotich-home")
    config = stack.StackConfig.load(
        str(home),
        external_kafka=kafka_bootstrap,
        external_mongodb=mongodb_url,
        free_ports=True,
        database_prefix=f"e2e_{home.name}_",
    )
    state = await stack.up(config)
    try:
        yield state
    finally:
        stack.down(config)

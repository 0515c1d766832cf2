"""A local stack with two validation instances, for the scaling and log tests.

Package-scoped, with a broker of its own (unless ``HOTICH_TEST_KAFKA_BOOTSTRAP`` names
one): stacks on one broker share topics and consumer groups, and a fresh group reads
the events earlier tests published on the same topic names.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotich_local import stack

VALIDATION_INSTANCES = 2


@pytest.fixture(scope="package")
def scaled_config(mongodb_url: str, tmp_path_factory: pytest.TempPathFactory) -> stack.StackConfig:
    home: Path = tmp_path_factory.mktemp("hotich-scaled")
    config = stack.StackConfig.load(
        str(home),
        external_kafka=os.environ.get("HOTICH_TEST_KAFKA_BOOTSTRAP"),
        external_mongodb=mongodb_url,
        free_ports=True,
        database_prefix=f"deploy_{home.name}_",
    )
    config.scale = {"validation": VALIDATION_INSTANCES}
    return config


@pytest.fixture(scope="package")
async def scaled_stack(scaled_config: stack.StackConfig) -> AsyncIterator[stack.StackState]:
    state = await stack.up(scaled_config)
    try:
        yield state
    finally:
        stack.down(scaled_config)

from __future__ import annotations

from typing import Any

import pytest

from hotich_contracts.plan import Plan, load_plan
from hotich_contracts.units import UnitRegistry, default_registry
from hotich_local.synth import GenerationConfig, Item, generate

SAMPLE_TOTAL = 20_000
SAMPLE_PROVINCE = 400


@pytest.fixture(scope="session")
def sample_config() -> GenerationConfig:
    return GenerationConfig(seed=11, total=SAMPLE_TOTAL, province_level=SAMPLE_PROVINCE)


@pytest.fixture(scope="session")
def sample(sample_config: GenerationConfig) -> list[Item]:
    return list(generate(sample_config))


@pytest.fixture(scope="session")
def by_id(sample: list[Item]) -> dict[str, Item]:
    return {item["truth"]["id"]: item for item in sample}


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan()


@pytest.fixture(scope="session")
def registry() -> UnitRegistry:
    return default_registry()


def truths(items: list[Item]) -> list[Any]:
    return [item["truth"] for item in items]

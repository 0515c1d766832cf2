"""The shared app factory's settings that need no broker or store."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest
from pydantic import TypeAdapter

from hotich_runtime.app import telemetry_config
from hotich_runtime.gc_tuning import tune_gc
from hotich_runtime.settings import ServiceSettings


def test_fastapis_own_telemetry_is_off_unless_opentelemetry_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [k for k in os.environ if k.startswith(("OTEL_", "FASTAPI_OTEL_"))]:
        monkeypatch.delenv(name)
    assert telemetry_config() == {"tracing": False, "metrics": False, "logs": False}
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert telemetry_config() is None  # FastAPI's defaults: it looks for a provider


@pytest.fixture
def collector() -> Iterator[None]:
    """Put the collector back as it was (the test process shares it)."""
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("collector")
def test_tune_gc_freezes_start_up_objects_and_raises_the_young_generation() -> None:
    _, middle, old = gc.get_threshold()
    survivor: list[list[str]] = [["loaded at start-up"]]  # a container the collector walks
    assert any(survivor is o for o in gc.get_objects())
    tune_gc(20_000)
    assert gc.get_threshold() == (20_000, middle, old)
    assert gc.get_freeze_count() > 0
    assert all(survivor is not o for o in gc.get_objects())  # frozen: out of the walk


@pytest.mark.usefixtures("collector")
def test_tune_gc_zero_keeps_pythons_settings() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    tune_gc(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_gc_threshold_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTICH_GC_THRESHOLD", raising=False)
    assert ServiceSettings().gc_threshold == 20_000
    monkeypatch.setenv("HOTICH_GC_THRESHOLD", "0")
    assert ServiceSettings().gc_threshold == 0


async def test_consumers_fetch_at_most_the_configured_bytes() -> None:
    # The Kafka client's defaults (1 MiB a partition, 50 MiB a fetch) made reporting hold
    # ~65 MB of fetched data while draining a backlog: the settings bound it.
    from hotich_runtime.kafka import BatchSubscription, EventPublisher, pipelined_consumer

    async def handle(events: object) -> None:
        return None

    settings = ServiceSettings(
        consumer_partition_fetch_bytes=64 * 1024, consumer_fetch_max_bytes=2 * 1024 * 1024
    )
    subscription: BatchSubscription[dict[str, object]] = BatchSubscription(
        topic="t",
        group_id="g",
        model=TypeAdapter(dict[str, object]),
        handle=handle,
        pipelined=True,
    )
    consumer = pipelined_consumer(
        subscription,
        EventPublisher(None),  # type: ignore[arg-type]  # never started: nothing is sent
        settings,
        client_id="c",
    )
    kafka_client = consumer._consumer
    assert kafka_client._max_partition_fetch_bytes == 64 * 1024
    assert kafka_client._fetch_max_bytes == 2 * 1024 * 1024
    assert ServiceSettings().consumer_partition_fetch_bytes == 256 * 1024
    await kafka_client.stop()  # never started: closes what the constructor opened

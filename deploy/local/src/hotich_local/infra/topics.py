"""Create hotich's topics from ``deploy/topics.yaml`` (idempotent)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code
from aiokafka.structs import TopicPartition
from pydantic import BaseModel, Field

from hotich_local.infra.kafka import deploy_dir

TOPIC_ALREADY_EXISTS = 36
"""Kafka error code: a concurrent creator won the race, which is fine."""


class TopicSpec(BaseModel):
    """One topic of the configuration file."""

    name: str
    partitions: int = Field(ge=1)
    replication_factor: int | None = None
    config: dict[str, str] = Field(default_factory=dict)


class TopicsFile(BaseModel):
    """``deploy/topics.yaml``."""

    defaults: dict[str, Any] = Field(default_factory=dict)
    topics: list[TopicSpec]


class TopicCreationError(RuntimeError):
    """The broker refused to create a topic (bad config, partitions, ...)."""


def default_config_path() -> Path:
    """``deploy/topics.yaml`` of the checkout."""
    return deploy_dir() / "topics.yaml"


def load_topics(path: Path | None = None) -> list[TopicSpec]:
    """Read the topic configuration, with the file's defaults applied."""
    raw = yaml.safe_load((path or default_config_path()).read_text())
    parsed = TopicsFile.model_validate(raw)
    replication = int(parsed.defaults.get("replication_factor", 1))
    return [
        t.model_copy(update={"replication_factor": t.replication_factor or replication})
        for t in parsed.topics
    ]


async def ensure_topics(
    bootstrap: str,
    topics: Path | Sequence[TopicSpec] | None = None,
    *,
    with_configs: bool = True,
    within: float = 30.0,
) -> list[str]:
    """Create the topics that do not exist yet; existing ones are left alone.

    Once created, waits until every new partition has a leader that serves it (a
    ListOffsets answer, not only metadata: the broker creates the partition's log a
    moment after the controller names the leader), so producers and consumers started
    right after do not meet NotLeaderForPartition.

    Args:
        bootstrap: ``host:port`` of the broker.
        topics: The specs, or a YAML file of them (default ``deploy/topics.yaml``).
        with_configs: False for brokers that lack topic configs (tansu has no compaction).
        within: Seconds to wait for the new partitions' leaders.

    Returns:
        The names of the topics this call created.

    Raises:
        TopicCreationError: The broker refused a topic.
        TimeoutError: New partitions had no leader within ``within`` seconds.
    """
    specs = load_topics(topics) if topics is None or isinstance(topics, Path) else list(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    name=s.name,
                    num_partitions=s.partitions,
                    replication_factor=s.replication_factor or 1,
                    topic_configs=s.config if with_configs else {},
                )
                for s in missing
            ]
        )
        created = _check_created(response.topic_errors)
        new = [s for s in missing if s.name in created]
        await _wait_for_leaders(admin, new, within)
        await _wait_until_served(bootstrap, new, within)
        return [s.name for s in new]
    finally:
        await admin.close()


def _check_created(topic_errors: Sequence[tuple[Any, ...]]) -> set[str]:
    """Names created by this request; topics that a concurrent caller created are skipped."""
    created: set[str] = set()
    failures = []
    for entry in topic_errors:
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        if code == 0:
            created.add(name)
        elif code != TOPIC_ALREADY_EXISTS:
            failures.append(f"{name}: {for_code(code).__name__} {message or ''}".rstrip())
    if failures:
        raise TopicCreationError("could not create topics: " + "; ".join(failures))
    return created


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec], within: float
) -> None:
    pending = {s.name: s.partitions for s in specs}
    deadline = time.monotonic() + within
    while pending:
        for topic in await admin.describe_topics(list(pending)):
            partitions = topic.get("partitions") or []
            led = [p for p in partitions if p.get("error_code") == 0 and p.get("leader", -1) >= 0]
            if topic.get("error_code") == 0 and len(led) >= pending.get(topic["topic"], 0):
                pending.pop(topic["topic"], None)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no leader after {within:.0f}s for: {', '.join(sorted(pending))}")
        await asyncio.sleep(0.1)


async def _wait_until_served(bootstrap: str, specs: Sequence[TopicSpec], within: float) -> None:
    """Ask each new partition's leader for its end offset; the consumer retries until it can."""
    if not specs:
        return
    partitions = [TopicPartition(s.name, p) for s in specs for p in range(s.partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=int(within * 1000))
    await consumer.start()
    try:
        await asyncio.wait_for(consumer.end_offsets(partitions), timeout=within)
    finally:
        await consumer.stop()

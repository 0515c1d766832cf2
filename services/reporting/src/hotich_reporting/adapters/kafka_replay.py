"""Reading the lifecycle topics from the beginning, for a rebuild of the projection.

The replay reads every partition of the four topics from offset 0 up to the end offsets
it saw when it started (later events are the live consumer's business), decoding each
message into the projection's view. Messages the live consumer would have sent to the
DLQ (undecodable, other schema versions) are counted and skipped, as it skips them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from hotich_contracts import topics
from hotich_reporting.adapters.event_views import decode
from hotich_reporting.domain.lifecycle import EventView

log = logging.getLogger(__name__)

__all__ = ["ReplayStats", "replay", "topic_partitions"]


@dataclass
class ReplayStats:
    """What a replay read."""

    messages: int = 0
    undecodable: int = 0
    end_offsets: dict[str, int] | None = None


async def topic_partitions(bootstrap: str, topic_names: Sequence[str]) -> list[TopicPartition]:
    """Every partition of the topics, as the cluster's metadata lists them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topic_names))
    finally:
        await admin.close()
    return sorted(
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        if topic.get("error_code") == 0
        for p in topic.get("partitions") or []
    )


async def replay(
    bootstrap: str,
    stats: ReplayStats,
    *,
    prefix: str = "",
    max_records: int = 5000,
) -> AsyncIterator[tuple[int, list[EventView]]]:
    """Yield (group, views) batches of every message up to the end offsets seen at the start.

    Reads ``<prefix><topic>`` for each lifecycle topic (no prefix in production). When the
    topics have the same number of partitions, they are read one *group* at a time:
    partition 0 of each, then partition 1, and so on. Events are keyed by record id
    with the same partitioner, so every event of a record is in one group and its state
    is final when its group ends (a rebuild loads a group while it reads the next).
    Otherwise everything is one group (0).
    """
    contract = {f"{prefix}{name}": name for name in topics.RECORD_TOPICS}
    partitions = await topic_partitions(bootstrap, list(contract))
    counts = Counter(tp.topic for tp in partitions)
    if len(counts) == len(contract) and len(set(counts.values())) == 1:
        numbers = sorted({tp.partition for tp in partitions})
        groups = [[tp for tp in partitions if tp.partition == n] for n in numbers]
    else:
        groups = [partitions]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        stats.end_offsets = {f"{tp.topic}:{tp.partition}": off for tp, off in ends.items()}
        await consumer.seek_to_beginning(*partitions)
        consumer.pause(*partitions)
        for number, group in enumerate(groups):
            remaining = {tp for tp in group if ends[tp] > 0}
            consumer.resume(*remaining)
            while remaining:
                fetched = await consumer.getmany(
                    *remaining, timeout_ms=1000, max_records=max_records
                )
                batch: list[EventView] = []
                for tp, messages in fetched.items():
                    end = ends[tp]
                    for message in messages:
                        if message.offset >= end:
                            break
                        stats.messages += 1
                        try:
                            batch.append(decode(contract[tp.topic], message.value or b""))
                        except (ValidationError, KeyError):
                            stats.undecodable += 1
                    if await consumer.position(tp) >= end:
                        remaining.discard(tp)
                        consumer.pause(tp)
                if batch:
                    yield number, batch
    finally:
        await consumer.stop()

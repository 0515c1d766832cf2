"""``hotich groups``: consumer groups, their members and their lag per topic.

What an operator looks at before and after scaling a consumer: which instances are in
the group (client id ``hotich-<service>-<instance>``, host), which partitions each one
holds, and how far the group's committed offsets trail the end of each topic. The same
lag is what KEDA scales the consumers on in Kubernetes (``deploy/k8s``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition


@dataclass(frozen=True)
class Member:
    """One consumer in a group."""

    member_id: str
    client_id: str
    host: str
    partitions: tuple[TopicPartition, ...]


@dataclass(frozen=True)
class TopicLag:
    """A group's position in one topic."""

    topic: str
    partitions: int
    committed: int
    """Sum of the committed offsets (partitions without one count from 0)."""
    end: int
    """Sum of the partitions' end offsets."""

    @property
    def lag(self) -> int:
        """Messages the group has not committed yet."""
        return max(self.end - self.committed, 0)


@dataclass(frozen=True)
class GroupInfo:
    """A consumer group: state, members and lag per topic."""

    group_id: str
    state: str
    members: tuple[Member, ...]
    topics: tuple[TopicLag, ...] = field(default=())

    @property
    def lag(self) -> int:
        """Total lag over the group's topics."""
        return sum(t.lag for t in self.topics)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``hotich groups --json``)."""
        return {
            "group": self.group_id,
            "state": self.state,
            "lag": self.lag,
            "members": [
                {
                    "client_id": m.client_id,
                    "host": m.host,
                    "member_id": m.member_id,
                    "partitions": [f"{tp.topic}:{tp.partition}" for tp in m.partitions],
                }
                for m in self.members
            ],
            "topics": [
                {
                    "topic": t.topic,
                    "partitions": t.partitions,
                    "committed": t.committed,
                    "end": t.end,
                    "lag": t.lag,
                }
                for t in self.topics
            ],
        }


def _assignment(raw: bytes) -> tuple[TopicPartition, ...]:
    if not raw:
        return ()
    decoded = ConsumerProtocolMemberAssignment.decode(raw)
    return tuple(sorted(decoded.partitions()))


async def describe_groups(
    bootstrap: str, prefix: str = "hotich-", group_ids: Sequence[str] | None = None
) -> list[GroupInfo]:
    """Describe the consumer groups whose id starts with ``prefix`` (or exactly ``group_ids``).

    Lag is taken per topic over every partition of the topics the group has committed
    offsets in or is assigned, so a group whose members are all gone still shows what
    it left unread.

    Raises:
        KafkaError: the cluster did not answer.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await consumer.start()
    try:
        if group_ids is None:
            listed = await admin.list_consumer_groups()
            group_ids = sorted(g[0] for g in listed if str(g[0]).startswith(prefix))
        if not group_ids:
            return []
        described: dict[str, dict[str, Any]] = {}
        for group_id in group_ids:
            # One group per request: aiokafka 0.14 decodes a DescribeGroups v3 answer
            # with the v2 layout, which goes wrong past the first group of a response.
            for response in await admin.describe_consumer_groups([group_id]):
                for group in response.to_object()["groups"]:
                    described[group["group"]] = group
        infos = []
        for group_id in group_ids:
            raw = described.get(group_id, {"state": "Unknown", "members": []})
            members = tuple(
                sorted(
                    (
                        Member(
                            member_id=m["member_id"],
                            client_id=m["client_id"],
                            host=m["client_host"],
                            partitions=_assignment(m["member_assignment"]),
                        )
                        for m in raw["members"]
                    ),
                    key=lambda m: (m.client_id, m.member_id),
                )
            )
            assigned = {tp for m in members for tp in m.partitions}
            committed = await _committed(admin, group_id, assigned)
            topic_names = {tp.topic for tp in assigned} | {tp.topic for tp in committed}
            lags = await _lags(admin, consumer, topic_names, committed)
            infos.append(GroupInfo(group_id, str(raw["state"]), members, lags))
        return infos
    finally:
        await consumer.stop()
        await admin.close()


async def _committed(
    admin: AIOKafkaAdminClient, group_id: str, assigned: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    """Committed offsets of the group (-1 where it has none)."""
    try:
        offsets = await admin.list_consumer_group_offsets(group_id)
    except KafkaError:
        # Brokers that cannot list a group's offsets without naming the partitions
        # (tansu, the local fallback) answer for the assigned ones.
        named = sorted(assigned)
        if not named:
            return {}
        offsets = await admin.list_consumer_group_offsets(group_id, partitions=named)
    return {tp: int(meta.offset) for tp, meta in offsets.items()}


async def _lags(
    admin: AIOKafkaAdminClient,
    consumer: AIOKafkaConsumer,
    topic_names: Iterable[str],
    committed: dict[TopicPartition, int],
) -> tuple[TopicLag, ...]:
    names = sorted(topic_names)
    if not names:
        return ()
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in await admin.describe_topics(names)
        if topic.get("error_code") == 0
        for p in sorted(topic.get("partitions") or [], key=lambda p: int(p["partition"]))
    ]
    if not partitions:
        return ()
    ends = await consumer.end_offsets(partitions)
    per_topic: dict[str, list[TopicPartition]] = defaultdict(list)
    for tp in partitions:
        per_topic[tp.topic].append(tp)
    return tuple(
        TopicLag(
            topic=topic,
            partitions=len(tps),
            committed=sum(max(committed.get(tp, 0), 0) for tp in tps),
            end=sum(int(ends[tp]) for tp in tps),
        )
        for topic, tps in per_topic.items()
    )


def render(groups: Sequence[GroupInfo]) -> str:
    """A table per group: members with their partitions, then lag per topic."""
    if not groups:
        return "no consumer groups"
    lines: list[str] = []
    for group in groups:
        lines.append(
            f"{group.group_id}  state={group.state}  members={len(group.members)}  lag={group.lag}"
        )
        for m in group.members:
            held = ", ".join(f"{tp.topic}:{tp.partition}" for tp in m.partitions) or "-"
            lines.append(f"  member {m.client_id:28} {m.host:18} {held}")
        for t in group.topics:
            lines.append(
                f"  topic  {t.topic:36} partitions={t.partitions:<3} "
                f"committed={t.committed:<9} end={t.end:<9} lag={t.lag}"
            )
        lines.append("")
    return "\n".join(lines).rstrip()

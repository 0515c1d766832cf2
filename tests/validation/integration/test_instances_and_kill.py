"""Three validation instances in one consumer group; one is SIGKILLed mid-stream.

Real processes, started the way ``hotich up --scale validation=3`` starts them
(``python -m hotich_validation`` with :func:`hotich_local.stack.service_env`), on the
session's real broker and store, reading a topic of 6 partitions of this test's own.
Generated records are streamed in while all three instances hold two partitions each;
the moment one instance has taken a first batch of them, it is killed with SIGKILL (no
shutdown, no offset commit), with a backlog on its partitions; the stream goes on after
the kill, so the dead instance's partitions keep receiving records that only a survivor
can handle once the group has rebalanced. The test then waits (deadlines, no timing
assertions) until the group has committed everything and reads what validation emitted.

What "none emitted twice" means in an at-least-once system
    Validation commits a batch's offsets only after Kafka acknowledged the batch's
    outcomes. An instance killed between the two leaves its last batch uncommitted, and
    the instance that takes the partition over handles it again, so the *message* may
    be on the validated topic twice. That is by design, and harmless, because the copy
    is the same event: its id is derived from the input's
    (``derived_event_id(entered_event_id, "validated")``), the verdict is a pure
    function of the input, and every consumer downstream (dedup, export, reporting,
    intake's status view) drops an event whose id it has seen. What must never happen
    is two *different* events for one input: two event ids, or one id with two
    verdicts, which downstream would take as two facts. So the test asserts that

    * every input record has exactly one outcome (one distinct event id, the derived
      one), with the verdict the generator's ground truth expects, and none is
      dead-lettered;
    * no event id stands for two different events: copies of one id are equal except
      ``occurred_at`` (when it was validated), and no two inputs share an output id;
    * after dropping copies by event id, as downstream does, there is exactly one
      event per input.

    How many copies were redelivered depends on where the kill landed; the test reports
    it but does not require any.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from hotich_contracts.envelope import derived_event_id
from hotich_contracts.events import RecordEntered, RecordValidated
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.topics import dlq
from hotich_local import groups, stack
from hotich_local.infra import procs
from hotich_local.infra.topics import TopicSpec, ensure_topics
from hotich_local.synth import GenerationConfig, generate
from hotich_local.synth.events import entered_event
from hotich_validation.service_layer.handlers import STAGE
from tests.fixtures.polling import eventually

pytestmark = pytest.mark.integration

INSTANCES = 3
PARTITIONS = 6
ITEMS = 3_600
"""Generated items; the few malformed ones (refused by intake) are left out."""
KILL_AFTER = 0.4
"""Share of the stream published before the kill; the rest follows it."""
KILL_WHEN_CONSUMED = 150
"""The victim dies once it has taken this many events (of about 480 it gets before the
kill): past its first batches, in the middle of its backlog."""
KILL_JITTER_S = 0.05
"""Longest pause between seeing the counter pass and the kill (a batch takes ~10-50 ms)."""
SESSION_TIMEOUT_MS = 6_000
"""How soon the broker notices the killed member (and rebalances)."""


@dataclass(frozen=True)
class Input:
    """One published record version and what its outcome must say."""

    event: RecordEntered
    reasons: tuple[str, ...]
    phase: object


def _inputs(total: int, seed: int) -> list[Input]:
    """Entered events of the generator's well-formed items, with the expected verdicts."""
    found = []
    for item in generate(GenerationConfig(seed=seed, total=total, province_level=60)):
        truth = item["truth"]
        if truth["malformed"]:
            continue
        event = entered_event(item, actor="clerk")
        # Exact duplicates are dedup's business: validation judges each on its own.
        reasons = tuple(c for c in truth["reasons"] if c != ReasonCode.DUPLICATE_EXACT)
        found.append(Input(event, reasons, truth["phase"]))
    return found


@dataclass
class Validation:
    """The validation instances of this test: one group, one database, this test's topics."""

    config: stack.StackConfig
    bootstrap: str
    mongodb_url: str
    source: str
    validated: str
    group: str
    logs: Path
    pids: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def start(self, index: int) -> str:
        """Start instance ``index`` as the stack does; return its client id."""
        prefix = "HOTICH_VALIDATION_"
        env = stack.service_env(
            self.config, prefix, "validation", self.bootstrap, self.mongodb_url, self.logs
        )
        port = procs.free_port()
        env |= {
            f"{prefix}HTTP_PORT": str(port),
            "HOTICH_INSTANCE_ID": str(index),
            f"{prefix}SOURCE_TOPIC": self.source,
            f"{prefix}VALIDATED_TOPIC": self.validated,
            f"{prefix}GROUP_ID": self.group,
            f"{prefix}CONSUMER_MAX_RECORDS": "100",
            f"{prefix}CONSUMER_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
        }
        client_id = f"hotich-validation-{index}"
        self.pids[client_id] = procs.start(
            [sys.executable, "-m", "hotich_validation"],
            log_path=self.logs / f"validation-{index}.log",
            env=env,
        )
        self.ports[client_id] = port
        return client_id

    async def wait_ready(self, client_id: str) -> None:
        pid, port = self.pids[client_id], self.ports[client_id]
        try:
            await procs.wait_until(
                lambda: _ready(port),
                within=90,
                what=client_id,
                alive=lambda: procs.is_running(pid),
            )
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{self.log_tails()}") from exc

    def kill(self, client_id: str) -> None:
        """SIGKILL an instance: no shutdown, no flush, no offset commit."""
        pid = self.pids.pop(client_id)
        os.killpg(pid, signal.SIGKILL)
        procs.stop(pid, timeout=5)

    async def consumed(self, client_id: str, client: httpx.AsyncClient) -> float:
        """Events the instance decoded from the source topic (its Prometheus counter)."""
        text = (await client.get(f"http://127.0.0.1:{self.ports[client_id]}/metrics")).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("hotich_events_consumed_total{") and f'"{self.source}"' in line
        )

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-40:])
            for path in sorted(self.logs.glob("validation-*.log"))
        )

    def stop_all(self) -> None:
        for pid in self.pids.values():
            procs.stop(pid)
        self.pids.clear()


async def _ready(port: int) -> bool:
    async with httpx.AsyncClient(timeout=2) as client:
        return (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200


@pytest.fixture
async def validation(
    kafka_bootstrap: str, mongodb_url: str, tmp_path: Path
) -> AsyncIterator[Validation]:
    """Topics of this test's own (entered with its DLQ, validated), instances not started."""
    tag = uuid.uuid4().hex[:10]
    source, validated = f"test.{tag}.entered", f"test.{tag}.validated"
    await ensure_topics(
        kafka_bootstrap,
        [
            TopicSpec(name=source, partitions=PARTITIONS),
            TopicSpec(name=validated, partitions=PARTITIONS),
            TopicSpec(name=dlq(source), partitions=1),
        ],
        with_configs=False,
    )
    config = stack.StackConfig.load(
        str(tmp_path / "home"), free_ports=True, database_prefix=f"t_{tag}_"
    )
    service = Validation(
        config=config,
        bootstrap=kafka_bootstrap,
        mongodb_url=mongodb_url,
        source=source,
        validated=validated,
        group=f"validation-{tag}",
        logs=tmp_path,
    )
    try:
        yield service
    finally:
        service.stop_all()


async def _stream_and_kill(
    service: Validation, victim: str, events: Sequence[RecordEntered]
) -> tuple[dict[str, int], int, float]:
    """Publish ``events`` keyed by record id, as intake does; SIGKILL ``victim`` mid-stream.

    The first ``KILL_AFTER`` of the stream goes out at once while a watcher polls the
    victim's consumed-events counter; the moment it passes ``KILL_WHEN_CONSUMED`` (a
    batch is in the victim's hands, more are waiting), the victim is killed. Only then does the rest go out, so records keep
    arriving on its partitions after it died. Returns each record's partition, the index
    of the first event published after the kill, and what the victim had consumed.
    """

    async def kill_when_consuming() -> float:
        async with httpx.AsyncClient(timeout=5) as client:
            consumed: float = await eventually(
                lambda: _at_least(service.consumed(victim, client), KILL_WHEN_CONSUMED),
                within=60,
                what=f"{victim} consuming",
                every=0.005,
            )
        # The counter moves when a batch is decoded, before it is handled: a random
        # pause lets the kill land anywhere in the handling (validating, publishing,
        # waiting for the acks, committing), not always at its start.
        await asyncio.sleep(random.uniform(0, KILL_JITTER_S))
        service.kill(victim)
        return consumed

    producer = AIOKafkaProducer(bootstrap_servers=service.bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        watcher = asyncio.create_task(kill_when_consuming())
        split = int(len(events) * KILL_AFTER)
        sends = []
        for n, event in enumerate(events):
            if n == split:
                consumed = await watcher
            sends.append(
                await producer.send(
                    service.source, event.model_dump_json().encode(), key=event.record_id.encode()
                )
            )
        acks = await asyncio.gather(*sends)
    finally:
        await producer.stop()
    partition_of = {e.record_id: ack.partition for e, ack in zip(events, acks, strict=True)}
    return partition_of, split, consumed


async def _at_least(value: Awaitable[float], threshold: float) -> float:
    """``value`` once it reached ``threshold``, else 0 (not yet)."""
    got = await value
    return got if got >= threshold else 0.0


async def _group(service: Validation) -> groups.GroupInfo:
    [info] = await groups.describe_groups(service.bootstrap, group_ids=[service.group])
    return info


def _stable_with(info: groups.GroupInfo, client_ids: set[str], topic: str) -> bool:
    """The group is stable, with exactly ``client_ids``, each partition held by one of them."""
    held = sorted(tp for m in info.members for tp in m.partitions)
    return (
        info.state == "Stable"
        and {m.client_id for m in info.members} == client_ids
        and held == [TopicPartition(topic, p) for p in range(PARTITIONS)]
    )


async def _read_to_end(
    bootstrap: str, topic: str, partition_count: int
) -> list[tuple[bytes | None, bytes]]:
    """Every message of ``topic`` up to its end offsets now, as (key, value)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(partition_count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[bytes | None, bytes]] = []
        async with asyncio.timeout(60):
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    found += [(m.key, m.value) for m in messages if m.value is not None]
        return found
    finally:
        await consumer.stop()


async def test_three_instances_one_killed_every_record_has_exactly_one_outcome(
    validation: Validation,
) -> None:
    inputs = _inputs(ITEMS, seed=29)
    by_record = {i.event.record_id: i for i in inputs}
    assert len(by_record) == len(inputs) > 3_000

    # 1. Three instances, one group; wait until each holds two partitions.
    everyone = {validation.start(n) for n in range(1, INSTANCES + 1)}
    for client_id in sorted(everyone):
        await validation.wait_ready(client_id)
    settled = await eventually(
        lambda: _settled(validation, everyone), within=60, what="group of three settled"
    )
    victim = settled.members[0]
    assert len(victim.partitions) == PARTITIONS // INSTANCES

    # 2. Stream the records in; SIGKILL the victim while it is working on them.
    events = [i.event for i in inputs]
    partition_of, killed_at, consumed = await _stream_and_kill(validation, victim.client_id, events)
    survivors = everyone - {victim.client_id}
    rest = events[killed_at:]
    victims_partitions = {tp.partition for tp in victim.partitions}
    after_kill_on_victims = sum(partition_of[e.record_id] in victims_partitions for e in rest)
    assert after_kill_on_victims > 0

    # 3. Wait until the survivors hold every partition and the group committed everything.
    async def drained() -> groups.GroupInfo | None:
        info = await _group(validation)
        stable = _stable_with(info, survivors, validation.source)
        return info if stable and info.lag == 0 else None

    try:
        await eventually(drained, within=60, what="survivors drained the topic", every=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{validation.log_tails()}") from exc

    # 4. What validation emitted, and what it dead-lettered.
    messages = await _read_to_end(validation.bootstrap, validation.validated, PARTITIONS)
    dead = await _read_to_end(validation.bootstrap, dlq(validation.source), 1)
    assert dead == [], "a well-formed record was dead-lettered"

    outcomes = [RecordValidated.model_validate_json(value) for _, value in messages]
    assert all(
        key == o.record_id.encode() for (key, _), o in zip(messages, outcomes, strict=True)
    ), "an outcome is not keyed by its record id"
    copies: dict[str, list[RecordValidated]] = defaultdict(list)
    for outcome in outcomes:
        copies[str(outcome.event_id)].append(outcome)

    # No id stands for two different events: copies agree on all but when they were made.
    for event_id, same in copies.items():
        shapes = {o.model_dump_json(exclude={"occurred_at"}) for o in same}
        assert len(shapes) == 1, f"event id {event_id} carries {len(shapes)} different events"

    # Dropping copies by event id, as every consumer downstream does: one event per input.
    unique = [same[0] for same in copies.values()]
    per_record = Counter(o.record_id for o in unique)
    assert set(per_record) == set(by_record), (
        f"missing outcomes: {len(set(by_record) - set(per_record))}, "
        f"outcomes of unknown records: {len(set(per_record) - set(by_record))}"
    )
    twice = {r: n for r, n in per_record.items() if n > 1}
    assert not twice, f"records with more than one distinct outcome: {twice}"
    for outcome in unique:
        expected = by_record[outcome.record_id]
        assert outcome.event_id == derived_event_id(expected.event.event_id, STAGE)
        assert outcome.record_version == expected.event.record_version
        got = tuple(r.code for r in outcome.payload.reasons)
        assert got == expected.reasons, (outcome.record_id, got, expected.reasons)
        assert outcome.payload.phase == expected.phase, outcome.record_id

    redelivered = len(outcomes) - len(unique)
    print(  # shown with -s: how the kill landed
        f"\n{len(inputs)} records, {len(outcomes)} outcome messages, {len(unique)} distinct "
        f"event ids, {redelivered} redelivered copies; victim {victim.client_id} had consumed "
        f"{consumed:.0f} before SIGKILL; {after_kill_on_victims} records reached its "
        "partitions after it died"
    )


async def _settled(service: Validation, client_ids: set[str]) -> groups.GroupInfo | None:
    info = await _group(service)
    return info if _stable_with(info, client_ids, service.source) else None

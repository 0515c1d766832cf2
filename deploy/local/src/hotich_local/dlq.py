"""``hotich dlq``: look at and replay dead-letter topics.

A consumer that cannot process a message (undecodable, another schema version, a
permanent error) writes a :class:`~hotich_contracts.dead_letter.DeadLetter` to
``<topic>.dlq`` and goes on. Once the cause is fixed (a new release, corrected
reference data), ``hotich dlq replay <topic>`` publishes each letter's original message
back to its source topic, with its original key so it lands on the same partition.

Replaying is safe to repeat: the replay commits its progress in its own consumer group
(``hotich-dlq-replay`` by default), so a second run sends only letters that arrived
since, and consumers drop events they have already handled (event ids are
deterministic). ``hotich dlq list`` prints only the letters' coordinates and errors,
never the message values: those hold personal data.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from pydantic import ValidationError

from hotich_contracts.dead_letter import DeadLetter
from hotich_contracts.topics import DLQ_SUFFIX, dlq

DEFAULT_GROUP = "hotich-dlq-replay"

dlq_app = typer.Typer(help="Dead-letter topics: list and replay.", no_args_is_help=True)

KafkaOpt = Annotated[
    str, typer.Option("--kafka", envvar="HOTICH_KAFKA_BOOTSTRAP", help="Kafka bootstrap.")
]


def dlq_topic(topic: str) -> str:
    """Accept either the source topic or its ``.dlq`` name; return the ``.dlq`` name."""
    return topic if topic.endswith(DLQ_SUFFIX) else dlq(topic)


@dataclass
class ReplayReport:
    """What a replay (or a dry run) found and did."""

    dlq_topic: str
    read: int = 0
    replayed: int = 0
    skipped: int = 0
    """Letters left alone: filtered out, or not a dead letter at all."""
    by_error: Counter[str] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)


async def _read_to_end(
    consumer: AIOKafkaConsumer,
    topic: str,
    handle: Callable[[DeadLetter | None, bytes | None], object],
    *,
    from_committed: bool,
) -> None:
    """Feed ``handle`` every message up to today's end.

    Reads from the group's committed position (``from_committed``) or the beginning.

    Raises:
        ValueError: the topic does not exist.
    """
    partitions = consumer.partitions_for_topic(topic) or set()
    if not partitions:
        await consumer.topics()
        partitions = consumer.partitions_for_topic(topic) or set()
    if not partitions:
        raise ValueError(f"no topic {topic}")
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    ends = await consumer.end_offsets(tps)
    for tp in tps:
        committed = await consumer.committed(tp) if from_committed else None
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
    pending = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=1000)
        for tp, messages in batches.items():
            for message in messages:
                if message.offset >= ends[tp]:
                    break
                try:
                    letter: DeadLetter | None = DeadLetter.model_validate_json(message.value or b"")
                except ValidationError:
                    letter = None
                handle(letter, message.key)
        pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}


async def replay(
    bootstrap: str,
    topic: str,
    *,
    group: str = DEFAULT_GROUP,
    error_type: str | None = None,
    dry_run: bool = False,
) -> ReplayReport:
    """Publish the dead letters of ``topic`` back to their source topics.

    Args:
        bootstrap: Kafka bootstrap servers.
        topic: The source topic or its ``.dlq`` topic.
        group: Consumer group that remembers how far replays got.
        error_type: Replay only letters with this ``error_type`` (others are skipped
            and, unless ``dry_run``, counted as done).
        dry_run: Read and count, publish nothing, commit nothing.

    Returns:
        Counts of what was read and replayed.
    """
    source = dlq_topic(topic)
    report = ReplayReport(source)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    sends: list[asyncio.Future[object]] = []
    try:
        letters: list[tuple[DeadLetter, bytes | None]] = []

        def take(letter: DeadLetter | None, key: bytes | None) -> None:
            report.read += 1
            if letter is None or (error_type and letter.error_type != error_type):
                report.skipped += 1
                return
            report.by_error[letter.error_type] += 1
            report.targets[letter.source_topic] += 1
            letters.append((letter, key))

        await _read_to_end(consumer, source, take, from_committed=True)
        if dry_run:
            return report
        for letter, key in letters:
            sends.append(
                await producer.send(letter.source_topic, letter.value.encode("utf-8"), key=key)
            )
        await asyncio.gather(*sends)
        report.replayed = len(letters)
        await consumer.commit()
        return report
    finally:
        await producer.stop()
        await consumer.stop()


async def list_letters(bootstrap: str, topic: str, limit: int) -> list[DeadLetter]:
    """The first ``limit`` dead letters of ``topic`` (read without committing)."""
    found: list[DeadLetter] = []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:

        def take(letter: DeadLetter | None, _key: bytes | None) -> None:
            if letter is not None and len(found) < limit:
                found.append(letter)

        await _read_to_end(consumer, dlq_topic(topic), take, from_committed=False)
    finally:
        await consumer.stop()
    return found


@dlq_app.command("list")
def list_command(
    topic: str,
    kafka: KafkaOpt = "127.0.0.1:9092",
    limit: Annotated[int, typer.Option(help="Letters to show at most.")] = 50,
) -> None:
    """Show dead letters: where they came from and why (never the message values)."""
    try:
        letters = asyncio.run(list_letters(kafka, topic, limit))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for letter in letters:
        typer.echo(
            f"{letter.failed_at:%Y-%m-%d %H:%M:%S}  {letter.source_topic}[{letter.partition}]"
            f"@{letter.offset}  {letter.consumer_group}  {letter.error_type}: "
            f"{letter.error.splitlines()[0][:160] if letter.error else ''}"
        )
    typer.echo(f"{len(letters)} letter(s) shown from {dlq_topic(topic)}")


@dlq_app.command("replay")
def replay_command(
    topic: str,
    kafka: KafkaOpt = "127.0.0.1:9092",
    group: Annotated[str, typer.Option(help="Consumer group tracking replays.")] = DEFAULT_GROUP,
    error_type: Annotated[
        str | None, typer.Option(help="Only letters with this error type, e.g. ValidationError.")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Count, publish nothing.")] = False,
) -> None:
    """Publish the dead letters of TOPIC (or TOPIC.dlq) back to their source topics."""
    try:
        report = asyncio.run(
            replay(kafka, topic, group=group, error_type=error_type, dry_run=dry_run)
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    verb = "would replay" if dry_run else "replayed"
    count = sum(report.targets.values()) if dry_run else report.replayed
    typer.echo(f"{report.dlq_topic}: read {report.read}, {verb} {count}, skipped {report.skipped}")
    for error, n in report.by_error.most_common():
        typer.echo(f"  {error}: {n}")

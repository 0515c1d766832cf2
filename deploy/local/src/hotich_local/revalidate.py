"""``hotich revalidate``: apply the rules in force again to records already entered.

When the plan file (or the mandatory-field table) changes, outcomes already published
on ``hotich.record.validated.v1`` were reached under the old rules. This ops command
reads ``hotich.record.entered.v1`` from the beginning (partitions assigned, no consumer
group, nothing committed), keeps the latest version of each record, selects by entering
unit and phase, validates again with the current files and publishes the outcomes to
``hotich.record.validated.v1`` (``acks=all``). Their event ids derive from the entered
event's id and the rules' fingerprint, so downstream consumers take them as new events;
running it twice with the same rules publishes the same ids again (dropped as repeats).

It reads the topic twice: a first pass notes the offset of each record's latest version
(a few dozen bytes per record), the second decodes and validates only those messages.
Messages appended after the command started are left to the running service.

Mounted by the main CLI as ``hotich revalidate``: ``app.add_typer(revalidate_app,
name="revalidate")`` (or, as a plain command, ``app.command("revalidate")(revalidate_command)``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from pydantic import BaseModel, ConfigDict, ValidationError

from hotich_contracts import topics
from hotich_contracts.envelope import utcnow
from hotich_contracts.events import RecordEntered, RecordValidated
from hotich_contracts.mandatory import MandatoryFieldsError, load_mandatory_fields
from hotich_contracts.plan import PlanError, load_plan
from hotich_contracts.units import UnitRegistry, default_registry
from hotich_validation.service_layer.handlers import Validator, revalidate, revalidation_stage

__all__ = [
    "PHASE_CHOICES",
    "RevalidationError",
    "RevalidationSummary",
    "revalidate_app",
    "revalidate_command",
    "run_revalidation",
]

log = logging.getLogger(__name__)

PHASE_CHOICES = ("1", "2", "3", "migration", "none")
"""Values of ``--phase``: a phase of the plan, migration, or none (out of scope)."""

IDLE_TIMEOUT_S = 60.0
"""Give up when the broker returns nothing for this long before the end offsets."""

revalidate_app = typer.Typer(
    help="Re-validate entered records with the current plan (kiểm tra lại theo kế hoạch mới).",
    no_args_is_help=False,
)


class RevalidationError(RuntimeError):
    """The topic is missing, the broker stopped answering, or an input is invalid."""


class _Head(BaseModel):
    """The envelope fields the first pass needs (the record itself is not built)."""

    model_config = ConfigDict(extra="ignore")

    event_type: str
    record_id: str
    record_version: int
    unit_code: str


@dataclass
class RevalidationSummary:
    """What a run did, printed by the command."""

    rules_fingerprint: str
    stage: str
    messages: int = 0
    """Messages read from the entered topic (first pass)."""
    undecodable: int = 0
    """Messages that are not a ``record.entered`` event (the service dead-lettered them)."""
    records: int = 0
    """Distinct records (latest version of each)."""
    in_units: int = 0
    """Records whose entering unit is within ``--unit`` (all when not given)."""
    selected: int = 0
    """Outcomes that matched ``--phase`` (all when not given)."""
    published: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_phase: dict[str, int] = field(default_factory=dict)


def _phase_key(phase: object) -> str:
    return "none" if phase is None else str(phase)


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of ``topic``.

    Raises:
        RevalidationError: the topic does not exist.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30_000, client_id="hotich-revalidate"
    )
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    entry: dict[str, Any] = next((t for t in described if t.get("topic") == topic), {})
    partitions = entry.get("partitions") or []
    if entry.get("error_code") != 0 or not partitions:
        raise RevalidationError(f"topic {topic} does not exist on {bootstrap}")
    return sorted(int(p["partition"]) for p in partitions)


async def _assigned_consumer(
    bootstrap: str, topic: str, partitions: Sequence[int]
) -> tuple[AIOKafkaConsumer, dict[Any, int]]:
    """A group-less consumer assigned the partitions of ``topic``, and their end offsets."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="hotich-revalidate",
        request_timeout_ms=30_000,
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        ends: dict[Any, int] = await consumer.end_offsets(assigned)
    except BaseException:
        await consumer.stop()
        raise
    return consumer, ends


async def _read(
    consumer: AIOKafkaConsumer, ends: dict[Any, int]
) -> AsyncIterator[ConsumerRecord[Any, Any]]:
    """Yield the messages of the assigned partitions from their positions up to ``ends``."""
    pending = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
    idle_since = time.monotonic()
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=500, max_records=1_000)
        if batches:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > IDLE_TIMEOUT_S:
            raise RevalidationError(
                f"no message for {IDLE_TIMEOUT_S:.0f}s before the end of {sorted(pending)}"
            )
        for tp, messages in batches.items():
            for message in messages:
                if message.offset < ends[tp]:
                    yield message
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)


def _within(unit_code: str, scopes: Sequence[str], registry: UnitRegistry) -> bool:
    return any(registry.is_within(unit_code, scope) for scope in scopes)


async def run_revalidation(
    bootstrap: str,
    validator: Validator,
    *,
    phases: Sequence[str] = (),
    units: Sequence[str] = (),
    label: str | None = None,
    dry_run: bool = False,
    source_topic: str = topics.RECORD_ENTERED,
    target_topic: str = topics.RECORD_VALIDATED,
    batch_size: int = 1_000,
) -> RevalidationSummary:
    """Re-validate the latest version of every entered record and publish the outcomes.

    Args:
        bootstrap: Kafka ``host:port``.
        validator: the rules in force (plan, units, mandatory fields).
        phases: publish only outcomes in these phases (:data:`PHASE_CHOICES`, as
            assigned by the current rules); empty = all.
        units: only records entered by these units or units below them (a district
            code covers its communes); empty = all.
        label: extra for the event ids (see :func:`revalidation_stage`).
        dry_run: validate and count, publish nothing.
        source_topic: where entered records are read from.
        target_topic: where outcomes go.
        batch_size: outcomes validated and published at a time.

    Raises:
        RevalidationError: a missing topic, an unknown unit or phase, a silent broker.
        KafkaError: the broker refused to acknowledge a publication.
    """
    registry = validator.registry
    unknown_units = [u for u in units if u not in registry]
    if unknown_units:
        raise RevalidationError(f"unknown unit codes: {unknown_units}")
    unknown_phases = [p for p in phases if p not in PHASE_CHOICES]
    if unknown_phases:
        raise RevalidationError(f"unknown phases {unknown_phases}; use {list(PHASE_CHOICES)}")
    stage = revalidation_stage(validator, label)
    summary = RevalidationSummary(rules_fingerprint=validator.fingerprint(), stage=stage)

    # Pass 1: the latest version of each record, and where it is.
    latest: dict[str, tuple[int, int, int, str]] = {}
    partitions = await _partitions(bootstrap, source_topic)
    scanner, ends = await _assigned_consumer(bootstrap, source_topic, partitions)
    try:
        await scanner.seek_to_beginning(*ends)
        async for message in _read(scanner, ends):
            summary.messages += 1
            try:
                head = _Head.model_validate_json(message.value or b"")
            except ValidationError:
                summary.undecodable += 1
                continue
            if head.event_type != "record.entered":
                summary.undecodable += 1
                continue
            known = latest.get(head.record_id)
            if known is None or head.record_version >= known[0]:
                latest[head.record_id] = (
                    head.record_version,
                    message.partition,
                    message.offset,
                    head.unit_code,
                )
    finally:
        await scanner.stop()
    summary.records = len(latest)
    wanted: dict[int, set[int]] = {}
    for _, partition, offset, unit_code in latest.values():
        if not units or _within(unit_code, units, registry):
            wanted.setdefault(partition, set()).add(offset)
            summary.in_units += 1
    del latest
    if not wanted:
        return summary

    # Pass 2: decode, validate and publish the selected versions.
    by_status: Counter[str] = Counter()
    by_phase: Counter[str] = Counter()
    producer: AIOKafkaProducer | None = None
    consumer: AIOKafkaConsumer | None = None
    try:
        if not dry_run:
            producer = AIOKafkaProducer(
                bootstrap_servers=bootstrap,
                acks="all",
                enable_idempotence=False,
                linger_ms=5,
                client_id="hotich-revalidate",
            )
            await producer.start()
        consumer, ends = await _assigned_consumer(bootstrap, source_topic, sorted(wanted))
        for tp in ends:
            consumer.seek(tp, min(wanted[tp.partition]))
        at = utcnow()
        batch: list[RecordEntered] = []

        async def flush() -> None:
            outcomes = [
                o
                for o in revalidate(batch, validator, label=label, at=at)
                if not phases or _phase_key(o.payload.phase) in phases
            ]
            batch.clear()
            for outcome in outcomes:
                by_status[str(outcome.payload.status)] += 1
                by_phase[_phase_key(outcome.payload.phase)] += 1
            summary.selected += len(outcomes)
            if producer is not None and outcomes:
                await _publish(producer, target_topic, outcomes)
                summary.published += len(outcomes)

        async for message in _read(consumer, ends):
            if message.offset not in wanted[message.partition]:
                continue
            try:
                batch.append(RecordEntered.model_validate_json(message.value or b""))
            except ValidationError:
                # Its envelope parsed but its record does not: the service dead-lettered it.
                summary.undecodable += 1
                summary.in_units -= 1
                continue
            if len(batch) >= batch_size:
                await flush()
        await flush()
    finally:
        if consumer is not None:
            await consumer.stop()
        if producer is not None:
            await producer.stop()
    summary.by_status = dict(sorted(by_status.items()))
    summary.by_phase = dict(sorted(by_phase.items()))
    return summary


async def _publish(producer: AIOKafkaProducer, topic: str, outcomes: list[RecordValidated]) -> None:
    """Send every outcome keyed by record id; return once the broker acknowledged all."""
    futures = [
        await producer.send(
            topic,
            outcome.model_dump_json().encode(),
            key=outcome.record_id.encode(),
            headers=[("content-type", b"application/json")],
        )
        for outcome in outcomes
    ]
    await asyncio.gather(*futures)


@revalidate_app.callback(invoke_without_command=True)
def revalidate_command(
    kafka: Annotated[
        str, typer.Option(envvar="HOTICH_KAFKA_BOOTSTRAP", help="Kafka bootstrap host:port.")
    ] = "127.0.0.1:9092",
    plan: Annotated[
        str | None,
        typer.Option(
            help="Plan file path or packaged plan name (default: HOTICH_PLAN_FILE, else the "
            "Tây Ninh plan)."
        ),
    ] = None,
    mandatory_fields: Annotated[
        str | None,
        typer.Option(
            help="Mandatory-field table (default: HOTICH_MANDATORY_FIELDS_FILE, else the "
            "packaged table)."
        ),
    ] = None,
    phase: Annotated[
        list[str] | None,
        typer.Option(
            help="Publish only outcomes in this phase under the current rules: 1, 2, 3, "
            "migration or none (out of scope). Repeatable."
        ),
    ] = None,
    unit: Annotated[
        list[str] | None,
        typer.Option(
            help="Only records entered by this unit or below it (a district covers its "
            "communes). Repeatable."
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option(
            help="Extra for the event ids, to publish anew under rules used before (a "
            "repeat of the same rules is otherwise dropped downstream)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and count; publish nothing.")] = False,
    from_topic: Annotated[str, typer.Option(help="Topic of entered records.")] = (
        topics.RECORD_ENTERED
    ),
    to_topic: Annotated[str, typer.Option(help="Topic the outcomes go to.")] = (
        topics.RECORD_VALIDATED
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Re-validate the latest version of every entered record with the current rules."""
    try:
        validator = Validator(
            plan=load_plan(plan),
            registry=default_registry(),
            mandatory=load_mandatory_fields(mandatory_fields),
        )
    except (PlanError, MandatoryFieldsError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        summary = asyncio.run(
            run_revalidation(
                kafka,
                validator,
                phases=phase or (),
                units=unit or (),
                label=label,
                dry_run=dry_run,
                source_topic=from_topic,
                target_topic=to_topic,
            )
        )
    except RevalidationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except KafkaError as exc:
        typer.echo(f"error: Kafka: {exc!r}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(asdict(summary), indent=2))
        return
    typer.echo(f"rules fingerprint  {summary.rules_fingerprint}")
    typer.echo(
        f"read {summary.messages} messages ({summary.undecodable} undecodable), "
        f"{summary.records} records, {summary.in_units} in the units asked"
    )
    verb = "would publish" if dry_run else "published"
    typer.echo(
        f"{verb} {summary.selected if dry_run else summary.published} outcomes to {to_topic}"
    )
    typer.echo(f"by status: {summary.by_status}  by phase: {summary.by_phase}")

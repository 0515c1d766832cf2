"""``hotich revalidate`` against the session's real broker, with a second plan file."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from typer.testing import CliRunner

from hotich_contracts.envelope import derived_event_id
from hotich_contracts.events import RecordEntered, RecordStatus, RecordValidated
from hotich_contracts.examples import example_details
from hotich_contracts.plan import load_plan
from hotich_contracts.records import RecordType
from hotich_contracts.units import default_registry
from hotich_local.infra import topics as infra_topics
from hotich_local.revalidate import revalidate_app
from hotich_validation.service_layer.handlers import Validator, revalidation_stage
from tests.factories import entered, record

pytestmark = pytest.mark.integration

OTHER_PLAN = Path(__file__).parents[2] / "contracts" / "data" / "plan_test_single_group.yaml"
ENTERED_AT = datetime(2022, 3, 1, 3, tzinfo=UTC)  # phase 1 of the test plan


async def _topics(bootstrap: str) -> tuple[str, str]:
    """A fresh pair of entered/validated topics: other tests' records stay out of it."""
    suffix = uuid.uuid4().hex[:10]
    names = (f"hotich.test.entered.{suffix}", f"hotich.test.validated.{suffix}")
    await infra_topics.ensure_topics(
        bootstrap,
        [infra_topics.TopicSpec(name=name, partitions=3, replication_factor=1) for name in names],
        with_configs=False,
    )
    return names


async def _publish(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, topic: str, count: int) -> list[RecordValidated]:
    """Exactly ``count`` outcomes from ``topic`` (waits for them; fails on a surplus)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[RecordValidated] = []
    try:
        while len(found) < count:
            message = await asyncio.wait_for(consumer.getone(), timeout=60)
            assert message.value is not None
            outcome = RecordValidated.model_validate_json(message.value)
            assert message.key == outcome.record_id.encode()
            found.append(outcome)
        surplus = await consumer.getmany(timeout_ms=1_000)
        assert not any(surplus.values()), "more outcomes than expected"
    finally:
        await consumer.stop()
    return found


def _entered(rec: Any, *, record_id: str, version: int = 1, unit: str = "25459") -> RecordEntered:
    event = entered(rec, unit_code=unit, record_id=record_id)
    return event.model_copy(update={"occurred_at": ENTERED_AT, "record_version": version})


def _cli(args: list[str]) -> Any:
    """Run ``hotich revalidate ARGS`` as the main CLI mounts it (in a thread: it runs its loop)."""
    app = typer.Typer()
    app.add_typer(revalidate_app, name="revalidate")
    return CliRunner().invoke(app, ["revalidate", *args], catch_exceptions=False)


async def test_revalidation_with_a_second_plan_publishes_new_outcomes(
    kafka_bootstrap: str,
) -> None:
    entered_topic, validated_topic = await _topics(kafka_bootstrap)
    birth_v1 = _entered(record(), record_id="birth")
    # A corrected version: registered in 2009, before the test plan's cutoff.
    details = example_details(RecordType.BIRTH)
    details["child"]["date_of_birth"] = "2009-05-01"
    corrected = record(RecordType.BIRTH, registration_date="2009-06-15", details=details)
    birth_v2 = _entered(corrected, record_id="birth", version=2)
    parentage = _entered(
        record(RecordType.PARENTAGE_RECOGNITION, registration_date="2005-03-15"),
        record_id="parentage",
    )
    # Entered by Thị trấn Tân Biên, outside Tây Ninh city (703): left out by --unit 703.
    tan_bien = _entered(
        record(registering_authority_code="25486", storing_unit_code="25486"),
        record_id="tan-bien",
        unit="25486",
    )
    events = [birth_v1, parentage, birth_v2, tan_bien]
    await _publish(
        kafka_bootstrap,
        entered_topic,
        [(e.record_id.encode(), e.model_dump_json().encode()) for e in events]
        + [(b"junk", b"not an event")],
    )
    common = [
        "--kafka", kafka_bootstrap,
        "--plan", str(OTHER_PLAN),
        "--from-topic", entered_topic,
        "--to-topic", validated_topic,
        "--json",
    ]  # fmt: skip

    # A dry run reads and counts, and publishes nothing.
    result = await asyncio.to_thread(_cli, [*common, "--dry-run"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["messages"] == 5
    assert summary["undecodable"] == 1
    assert (summary["records"], summary["in_units"], summary["selected"]) == (3, 3, 3)
    assert summary["published"] == 0

    # Tây Ninh city and its wards only, under the test plan.
    result = await asyncio.to_thread(_cli, [*common, "--unit", "703"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["in_units"], summary["published"]) == (2, 2)
    assert summary["by_phase"] == {"1": 2}
    outcomes = {o.record_id: o for o in await _read_all(kafka_bootstrap, validated_topic, 2)}
    assert set(outcomes) == {"birth", "parentage"}

    validator = Validator(plan=load_plan(OTHER_PLAN), registry=default_registry())
    stage = revalidation_stage(validator)
    assert summary["stage"] == stage
    # The latest version of the birth, valid under the test plan (registered 2009).
    birth = outcomes["birth"]
    assert birth.record_version == 2
    assert birth.event_id == derived_event_id(birth_v2.event_id, stage)
    assert birth.event_id != derived_event_id(birth_v2.event_id, "validated")
    assert (birth.payload.status, birth.payload.phase) == (RecordStatus.VALID, 1)
    assert str(birth.payload.record.registration_date) == "2009-06-15"
    # Parentage recognition: out of Tây Ninh's plan, phase 1 of the test plan.
    recognition = outcomes["parentage"]
    assert recognition.event_id == derived_event_id(parentage.event_id, stage)
    assert (recognition.payload.status, recognition.payload.phase) == (RecordStatus.VALID, 1)
    assert recognition.correlation_id == parentage.correlation_id

    # Out-of-scope outcomes only, with a label: the Tân Biên birth of 2010 (after the
    # test plan's 2009 cutoff).
    result = await asyncio.to_thread(_cli, [*common, "--phase", "none", "--label", "again"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["selected"], summary["published"]) == (1, 1)
    everything = await _read_all(kafka_bootstrap, validated_topic, 3)
    (out_of_scope,) = [o for o in everything if o.record_id == "tan-bien"]
    assert out_of_scope.event_id == derived_event_id(tan_bien.event_id, f"{stage}:again")
    assert out_of_scope.payload.status == RecordStatus.REJECTED
    assert [r.code for r in out_of_scope.payload.reasons] == ["out_of_scope_date"]


async def test_missing_topic_and_bad_inputs_exit_with_an_error(kafka_bootstrap: str) -> None:
    base = ["--kafka", kafka_bootstrap, "--from-topic", f"hotich.test.none.{uuid.uuid4().hex}"]
    result = await asyncio.to_thread(_cli, base)
    assert result.exit_code == 2
    assert "does not exist" in result.output
    result = await asyncio.to_thread(_cli, [*base, "--plan", "/nonexistent/plan.yaml"])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    entered_topic, _ = await _topics(kafka_bootstrap)
    result = await asyncio.to_thread(
        _cli, ["--kafka", kafka_bootstrap, "--from-topic", entered_topic, "--unit", "99999"]
    )
    assert result.exit_code == 2
    assert "unknown unit codes" in result.output

"""One record travels intake -> validation -> dedup -> export -> national sandbox -> reporting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from hotich_contracts import topics
from hotich_contracts.events import RecordExported
from hotich_contracts.examples import example_record
from hotich_contracts.records import RecordType
from hotich_local import stack
from tests.e2e.support import WAIT_S, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
async def exported_events(running_stack: stack.StackState) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(
        topics.RECORD_EXPORTED,
        bootstrap_servers=running_stack.kafka,
        group_id=f"e2e-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    yield consumer
    await consumer.stop()


async def await_exported(consumer: AIOKafkaConsumer, record_id: str) -> RecordExported:
    """Read the exported topic until the record's outcome appears (no fixed sleep)."""
    async with asyncio.timeout(WAIT_S):
        async for message in consumer:
            event = RecordExported.model_validate_json(message.value)
            if event.record_id == record_id:
                return event
    raise AssertionError("unreachable")


async def test_record_is_exported_with_a_national_id_and_counted(
    running_stack: stack.StackState, clerk_token: str, exported_events: AIOKafkaConsumer
) -> None:
    headers = {"Authorization": f"Bearer {clerk_token}"}
    body = example_record(RecordType.BIRTH, entry_number=str(uuid.uuid4().int % 10**6))
    async with httpx.AsyncClient(base_url=running_stack.urls["intake"], headers=headers) as intake:
        response = await intake.post("/v1/records", json=body)
        assert response.status_code == 202, response.text
        record_id = response.json()["record_id"]

        exported = await await_exported(exported_events, record_id)
        assert exported.payload.status == "exported", exported.payload.reasons
        national_id = exported.payload.national_id
        assert national_id

        async def intake_view() -> Any:
            view = (await intake.get(f"/v1/records/{record_id}")).json()
            return view if view["status"] == "exported" else None

        view = await eventually(intake_view)
        assert view["national_id"] == national_id
        assert view["phase"] == 1
        assert [h["status"] for h in view["history"]] == ["valid", "accepted", "exported"]

    async with httpx.AsyncClient(
        base_url=running_stack.urls["national_sandbox"], headers={"X-API-Key": "sandbox-key"}
    ) as national:
        held = (await national.get(f"/v1/records/{national_id}")).json()
        assert held["body"]["source_record_id"] == record_id
        assert held["idempotency_key"] == f"{record_id}:v1"

    async with httpx.AsyncClient(
        base_url=running_stack.urls["reporting"], headers=headers
    ) as reporting:

        async def counted() -> Any:
            report = (await reporting.get("/v1/progress", params={"phase": "1"})).json()
            return report if report["units"].get("25459", {}).get("exported", 0) >= 1 else None

        report = await eventually(counted)
        # the clerk's scope is its own commune; the commune's row counts the record
        assert report["unit_code"] == "25459"
        assert report["by_type"]["birth"]["exported"] >= 1


async def test_out_of_scope_and_exact_duplicate_are_rejected_with_reasons(
    running_stack: stack.StackState, clerk_token: str
) -> None:
    headers = {"Authorization": f"Bearer {clerk_token}"}
    entry = str(uuid.uuid4().int % 10**6)
    original = example_record(RecordType.DEATH, entry_number=entry)
    out_of_scope = example_record(RecordType.PARENTAGE_RECOGNITION, entry_number=entry)
    async with httpx.AsyncClient(base_url=running_stack.urls["intake"], headers=headers) as intake:
        ids = []
        # Distinct Idempotency-Keys say "two submissions" (without keys, the second POST
        # of the same register entry would be taken as a retry of the first).
        for n, body in enumerate((original, original, out_of_scope)):
            response = await intake.post(
                "/v1/records", json=body, headers={"Idempotency-Key": f"{entry}-{n}"}
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["record_id"])

        async def settled(record_id: str) -> Any:
            view = (await intake.get(f"/v1/records/{record_id}")).json()
            return view if view["status"] in ("exported", "rejected") else None

        first, second, third = [await eventually(lambda r=r: settled(r)) for r in ids]
    # Events are keyed by record id, so the two submissions may reach dedup in either
    # order: whichever claims the register entry first is exported, the other is the duplicate.
    assert sorted((first["status"], second["status"])) == ["exported", "rejected"]
    kept, duplicate = (first, second) if first["status"] == "exported" else (second, first)
    assert duplicate["reasons"][0]["code"] == "duplicate_exact"
    assert duplicate["reasons"][0]["related_record_id"] == kept["record_id"]
    assert third["status"] == "rejected"
    assert third["phase"] is None
    assert [r["code"] for r in third["reasons"]] == ["out_of_scope_type"]
    assert third["reasons"][0]["message_vi"]


async def test_malformed_input_gets_422_with_field_reasons_in_both_languages(
    running_stack: stack.StackState, clerk_token: str
) -> None:
    headers = {"Authorization": f"Bearer {clerk_token}"}
    body = example_record(RecordType.BIRTH)
    del body["book_number"]
    body["registration_date"] = "2010-02-30"
    async with httpx.AsyncClient(base_url=running_stack.urls["intake"], headers=headers) as intake:
        response = await intake.post("/v1/records", json=body)
        unauthenticated = await intake.post("/v1/records", json=body, headers={"Authorization": ""})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"birth.book_number", "birth.registration_date"} <= fields
    assert all(e["message_vi"] and e["message_en"] for e in response.json()["errors"])
    assert unauthenticated.status_code == 401

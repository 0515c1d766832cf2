"""The dedup service as it runs: real Kafka, real store, the review API over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from asgi_lifespan import LifespanManager

from hotich_contracts import topics
from hotich_contracts.events import RecordDeduplicated, RecordStatus, resolves_suspicion
from hotich_dedup.config import DedupSettings
from hotich_dedup.entrypoints.app import create_app
from hotich_runtime.auth import Principal, Role, issue_token
from tests.dedup.builders import birth, validated

pytestmark = pytest.mark.integration

SECRET = "dedup-integration-secret-32-bytes-long"


@pytest.fixture
async def service(
    kafka_bootstrap: str, topics_ready: object, mongodb_url: str, database_name: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = DedupSettings(
        kafka_bootstrap=kafka_bootstrap,
        mongodb_url=mongodb_url,
        mongodb_database=database_name,
        group_id=f"dedup-{database_name}",
        jwt_secret=SECRET,
        consumer_max_records=50,
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dedup") as client:
            yield client


async def read_outcomes(
    consumer: AIOKafkaConsumer, wanted: set[str], count: int
) -> list[RecordDeduplicated]:
    found: list[RecordDeduplicated] = []
    async with asyncio.timeout(60):
        async for message in consumer:
            event = RecordDeduplicated.model_validate_json(message.value)
            if event.record_id in wanted:
                found.append(event)
                if len(found) == count:
                    return found
    raise AssertionError("unreachable")


async def test_consumes_validated_records_and_publishes_outcomes_and_resolutions(
    service: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    original = validated(birth(entry_number="1", child="Võ Thị Bích", born="2008-08-08"))
    exact = validated(birth(entry_number="01", child="Võ Thị Bích", born="2008-08-08"))
    again = validated(birth(entry_number="2", child="VO THI BICH", born="2008-08-08"))
    consumer = AIOKafkaConsumer(
        topics.RECORD_DEDUPLICATED,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"t-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        # Events are keyed by record id, so records sent together may reach dedup in
        # any order; the original is settled first so the other two meet it.
        outcomes: dict[str, RecordDeduplicated] = {}
        for batch in ((original,), (exact, again)):
            for event in batch:
                await producer.send_and_wait(
                    topics.RECORD_VALIDATED,
                    event.model_dump_json().encode(),
                    key=event.record_id.encode(),
                )
            ids = {event.record_id for event in batch}
            outcomes |= {e.record_id: e for e in await read_outcomes(consumer, ids, len(ids))}
        assert outcomes[original.record_id].payload.status == RecordStatus.ACCEPTED
        assert outcomes[exact.record_id].payload.status == RecordStatus.REJECTED
        suspicion = outcomes[again.record_id]
        assert suspicion.payload.status == RecordStatus.DUPLICATE_SUSPECTED
        assert suspicion.payload.candidates[0].record_id == original.record_id

        token = issue_token(
            Principal("so-tp", "72", Role.DEPARTMENT_OFFICER), SECRET, timedelta(minutes=5)
        )
        headers = {"Authorization": f"Bearer {token}"}
        listed = (await service.get("/v1/duplicates", headers=headers)).json()["items"]
        assert [i["record_id"] for i in listed] == [again.record_id]
        response = await service.post(
            f"/v1/duplicates/{again.record_id}/resolve",
            json={"resolution": "distinct", "note": "hai trẻ khác nhau"},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        [resolution] = await read_outcomes(consumer, {again.record_id}, 1)
        assert resolves_suspicion(resolution)
        assert resolution.payload.status == RecordStatus.ACCEPTED
        assert resolution.record_version == suspicion.record_version
        assert str(resolution.event_id) == response.json()["event_id"]
    finally:
        await producer.stop()
        await consumer.stop()

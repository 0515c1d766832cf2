"""Concurrent single POSTs are entered together (group commit), each with its own answer."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from hotich_contracts import topics
from hotich_contracts.events import RecordEntered
from hotich_contracts.examples import example_record
from hotich_contracts.records import RecordType
from tests.intake.integration.conftest import Intake

pytestmark = pytest.mark.integration


def record(entry: str) -> dict[str, Any]:
    body = example_record(RecordType.BIRTH, entry_number=entry)
    body["book_number"] = f"cc-{uuid.uuid4().hex[:8]}"
    return body


async def entered_counts(kafka: str, wanted: set[str], within: float = 60.0) -> Counter[str]:
    """How often each wanted record id appears in record.entered (read from the start)."""
    consumer = AIOKafkaConsumer(
        topics.RECORD_ENTERED,
        bootstrap_servers=kafka,
        group_id=f"cc-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: Counter[str] = Counter()
    try:
        async with asyncio.timeout(within):
            while not wanted <= set(seen):
                batches = await consumer.getmany(timeout_ms=1000)
                for message in (m for ms in batches.values() for m in ms):
                    event = RecordEntered.model_validate_json(message.value)
                    if event.record_id in wanted:
                        seen[event.record_id] += 1
        # Read to the end of what is there now, so a second copy would be counted too.
        batches = await consumer.getmany(timeout_ms=2000)
        for message in (m for ms in batches.values() for m in ms):
            event = RecordEntered.model_validate_json(message.value)
            if event.record_id in wanted:
                seen[event.record_id] += 1
    finally:
        await consumer.stop()
    return seen


async def test_concurrent_posts_of_two_clerks_each_get_their_record_once_in_kafka(
    intake: Intake,
) -> None:
    def client(who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=intake.url,
            headers={"Authorization": f"Bearer {intake.tokens[who]}"},
            timeout=60,
        )

    async with client("clerk_a") as clerk_a, client("clerk_b") as clerk_b:
        plain = [(c, record(str(n)), None) for c in (clerk_a, clerk_b) for n in range(1, 31)]
        # A client retrying while its first attempt is still in flight: same key, same body.
        twins = [(clerk_a, record(f"9{n}"), f"twin-{uuid.uuid4().hex}") for n in range(5)]
        sends = [*plain, *twins, *twins]
        responses = await asyncio.gather(
            *(
                c.post("/v1/records", json=body, headers={"Idempotency-Key": key} if key else {})
                for c, body, key in sends
            )
        )
        refused = await clerk_a.post("/v1/records", json={**record("1"), "source": "migration"})

    assert [r.status_code for r in responses] == [202] * len(sends), [
        r.text for r in responses if r.status_code != 202
    ]
    ids = [r.json()["record_id"] for r in responses]
    plain_ids, first_twins, second_twins = ids[:60], ids[60:65], ids[65:]
    assert len(set(plain_ids)) == 60
    assert first_twins == second_twins
    repeated = [r.json()["repeated"] for r in responses[60:]]
    assert sorted(repeated) == [False] * 5 + [True] * 5
    # A clerk may not enter migration records: refused alone, the others unaffected.
    assert refused.status_code == 403

    counts = await entered_counts(intake.kafka, set(plain_ids) | set(first_twins))
    assert counts == Counter({i: 1 for i in [*plain_ids, *first_twins]})

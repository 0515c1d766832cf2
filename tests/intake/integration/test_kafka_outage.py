"""Kafka dies in the middle of batches: nothing answered 202 is lost or doubled, and every
record not answered 202 can be sent again safely."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from hotich_contracts import topics
from hotich_contracts.events import RecordEntered
from hotich_contracts.examples import example_record
from hotich_contracts.records import RecordType
from hotich_local import accounts
from hotich_local.infra import procs
from hotich_local.infra.kafka import KafkaServer
from hotich_local.infra.topics import ensure_topics, load_topics
from tests.intake.integration.conftest import sign_in, start_intake

pytestmark = pytest.mark.integration

BATCHES = 24
PER_BATCH = 50


def _batch(n: int) -> dict[str, object]:
    return {
        "items": [
            {
                "idempotency_key": f"b{n}-i{i}",
                "record": example_record(
                    RecordType.BIRTH, entry_number=f"{n}-{i}-{uuid.uuid4().hex[:6]}"
                ),
            }
            for i in range(PER_BATCH)
        ]
    }


async def _read_all(bootstrap: str) -> list[RecordEntered]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        count = next(s.partitions for s in load_topics() if s.name == topics.RECORD_ENTERED)
        partitions = [TopicPartition(topics.RECORD_ENTERED, p) for p in range(count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        events: list[RecordEntered] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            batch = await consumer.getmany(timeout_ms=1000)
            for messages in batch.values():
                events += [RecordEntered.model_validate_json(m.value) for m in messages]
        return events
    finally:
        await consumer.stop()


async def test_kafka_killed_mid_batch(mongodb_url: str, tmp_path: Path) -> None:
    kafka = KafkaServer(
        data_dir=tmp_path / "kafka", port=procs.free_port(), controller_port=procs.free_port()
    )
    kafka.start(tmp_path / "kafka.log")
    await kafka.wait_ready(within=120)
    await ensure_topics(kafka.bootstrap)
    database = f"outage_{uuid.uuid4().hex[:8]}"
    await accounts.create(
        mongodb_url, "clerk", "outage-password", "25459", "clerk", database=database
    )
    url, intake_pid = await asyncio.to_thread(
        start_intake,
        kafka.bootstrap,
        mongodb_url,
        database,
        tmp_path,
        {"HOTICH_INTAKE_OUTBOX_RELAY_AFTER_S": "2"},
    )
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await sign_in(client, "clerk", "outage-password")
            answers: dict[int, httpx.Response | Exception] = {}

            async def send(n: int) -> None:
                try:
                    answers[n] = await client.post("/v1/records/batch", json=bodies[n])
                except httpx.HTTPError as exc:
                    answers[n] = exc

            bodies = {n: _batch(n) for n in range(BATCHES)}
            first = [asyncio.create_task(send(n)) for n in range(BATCHES // 2)]
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            assert kafka.pid is not None
            os.killpg(kafka.pid, signal.SIGKILL)  # mid-flight: some batches are in progress
            rest = [asyncio.create_task(send(n)) for n in range(BATCHES // 2, BATCHES)]
            await asyncio.gather(*first, *rest)

            accepted = {
                n
                for n, a in answers.items()
                if isinstance(a, httpx.Response) and a.status_code == 200
            }
            refused = set(range(BATCHES)) - accepted
            assert accepted, "some batches were acknowledged before the broker died"
            assert refused, "some batches met the dead broker"
            assert all(
                answers[n].status_code == 503
                for n in refused
                if isinstance(answers[n], httpx.Response)
            )
            first_ids = {
                n: [r["record_id"] for r in answers[n].json()["results"]]  # type: ignore[union-attr]
                for n in accepted
            }

            kafka.start(tmp_path / "kafka.log")  # same data directory, same ports
            await kafka.wait_ready(within=120)
            resent: dict[int, list[str]] = {}
            for n in sorted(refused):
                for _ in range(30):
                    answer = await client.post("/v1/records/batch", json=bodies[n])
                    if answer.status_code == 200:
                        resent[n] = [r["record_id"] for r in answer.json()["results"]]
                        break
                    await asyncio.sleep(1)
                assert n in resent, f"batch {n} was never accepted after recovery"
            for n in accepted:  # resending an accepted batch changes nothing
                again = await client.post("/v1/records/batch", json=bodies[n])
                assert [r["record_id"] for r in again.json()["results"]] == first_ids[n]
                assert {r["outcome"] for r in again.json()["results"]} == {"repeated"}

        events = await _read_all(kafka.bootstrap)
        event_ids: dict[tuple[str, int], set[str]] = defaultdict(set)
        for event in events:
            event_ids[(event.record_id, event.record_version)].add(str(event.event_id))
        all_ids = [rid for ids in (*first_ids.values(), *resent.values()) for rid in ids]
        assert len(all_ids) == len(set(all_ids)) == BATCHES * PER_BATCH
        for record_id in all_ids:
            assert len(event_ids[(record_id, 1)]) == 1, (
                f"{record_id} in Kafka {len(event_ids[(record_id, 1)])} times"
            )
        # nothing in Kafka that no client was told about
        assert {rid for rid, _ in event_ids} == set(all_ids)
    finally:
        procs.stop(intake_pid)
        kafka.stop()

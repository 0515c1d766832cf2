"""A reporting service running in this process against the session's Kafka and store,
fed with a generated set of registers published straight to the lifecycle topics."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from hotich_contracts import topics
from hotich_local.infra import procs
from hotich_local.infra import topics as infra_topics
from hotich_reporting.adapters.kafka_replay import topic_partitions
from hotich_reporting.config import ReportingSettings
from hotich_reporting.entrypoints.app import create_app
from hotich_runtime.auth import Principal, Role, issue_token
from tests.fixtures.infra import BrokerInfo, unique_database_name
from tests.reporting import scenario as sc

SECRET = "reporting-test-secret-0123456789abcdef"
TODAY = date(2020, 7, 20)
CATCH_UP_S = 120.0


@dataclass
class Service:
    """The running reporting service and what it was fed."""

    url: str
    app: Any
    settings: ReportingSettings
    scenario: sc.Scenario
    bootstrap: str
    mongodb_url: str

    def token(self, unit: str, role: Role, username: str = "user") -> str:
        return issue_token(Principal(username, unit, role), SECRET, timedelta(hours=1))

    def client(self, unit: str = "72", role: Role = Role.DEPARTMENT_OFFICER) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token(unit, role)}"},
            timeout=30.0,
        )


TOPIC_PREFIX = f"t{uuid.uuid4().hex[:8]}."
"""The lifecycle and progress topics of these tests: their own, so a pipeline running on
the same broker (the e2e stack) neither reads these events nor adds to them."""


async def own_topics(broker: BrokerInfo) -> None:
    """Create this session's topics as ``deploy/topics.yaml`` describes the real ones."""
    specs = [
        spec.model_copy(update={"name": TOPIC_PREFIX + spec.name})
        for spec in infra_topics.load_topics()
    ]
    await infra_topics.ensure_topics(
        broker.bootstrap, specs, with_configs=broker.supports_topic_configs
    )


async def publish(bootstrap: str, scenario: sc.Scenario) -> dict[TopicPartition, int]:
    """Publish every event (shuffled across topics, a quarter of them twice).

    Returns the end offsets once all are acknowledged.
    """
    pairs = scenario.all_events()
    rng = Random(13)
    pairs += rng.sample(pairs, len(pairs) // 4)
    rng.shuffle(pairs)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(
                TOPIC_PREFIX + topic,
                event.model_dump_json().encode(),
                key=event.record_id.encode(),  # type: ignore[attr-defined]
            )
            for topic, event in pairs
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    partitions = await topic_partitions(bootstrap, [TOPIC_PREFIX + t for t in topics.RECORD_TOPICS])
    assert len(partitions) >= 4
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def caught_up(bootstrap: str, group: str, ends: dict[TopicPartition, int]) -> None:
    """Wait until the group committed every offset up to ``ends`` (polling the broker)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async with asyncio.timeout(CATCH_UP_S):
            while True:
                committed = await admin.list_consumer_group_offsets(group)
                if all(
                    committed.get(tp) is not None and committed[tp].offset >= end
                    for tp, end in ends.items()
                    if end > 0
                ):
                    return
                await asyncio.sleep(0.25)
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def reporting_scenario() -> sc.Scenario:
    return sc.build(sc.config(total=2500, seed=7))


@pytest.fixture(scope="session")
async def reporting_service(
    kafka_bootstrap: str,
    broker: BrokerInfo,
    mongodb_url: str,
    reporting_scenario: sc.Scenario,
) -> AsyncIterator[Service]:
    await own_topics(broker)
    ends = await publish(kafka_bootstrap, reporting_scenario)
    settings = ReportingSettings(
        kafka_bootstrap=kafka_bootstrap,
        mongodb_url=mongodb_url,
        mongodb_database=unique_database_name("reporting_e2e"),
        group_id=f"reporting-test-{uuid.uuid4().hex[:8]}",
        http_port=procs.free_port(),
        jwt_secret=SECRET,
        progress_interval_s=0.5,
        today=TODAY,
        intake_url="http://127.0.0.1:9",
        topic_prefix=TOPIC_PREFIX,
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        async with asyncio.timeout(60):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        service = Service(
            url=f"http://127.0.0.1:{settings.http_port}",
            app=app,
            settings=settings,
            scenario=reporting_scenario,
            bootstrap=kafka_bootstrap,
            mongodb_url=mongodb_url,
        )
        async with service.client() as client:
            response = await client.post(
                "/v1/survey",
                content=sc.survey_csv(reporting_scenario),
                headers={"Content-Type": "text/csv"},
            )
            assert response.status_code == 201, response.text
        await caught_up(kafka_bootstrap, settings.group_id, ends)
        yield service
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task

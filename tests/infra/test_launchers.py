"""The broker and store the fixtures chose, and the local launchers, do what hotich relies on.

Every test runs against whatever ``tests/fixtures/infra.py`` chose (environment,
testcontainers or local processes). The restart test starts a broker of its own.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo.errors import DuplicateKeyError

from hotich_contracts import topics as contract
from hotich_local.infra import kafka, procs, topics
from tests.fixtures.infra import BrokerInfo

pytestmark = pytest.mark.integration


async def _admin(bootstrap: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    return admin


async def _create_topic(bootstrap: str, partitions: int = 3) -> str:
    name = f"hotich.test.{uuid.uuid4().hex[:10]}"
    admin = await _admin(bootstrap)
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return name


async def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _consume_one(bootstrap: str, topic: str, *, group: str | None) -> tuple[bytes, bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=60)
        if group is not None:
            await consumer.commit()
    finally:
        await consumer.stop()
    assert message.key is not None
    assert message.value is not None
    return message.key, message.value


async def test_produce_and_consume_through_the_chosen_broker(kafka_bootstrap: str) -> None:
    topic = await _create_topic(kafka_bootstrap)

    await _produce(kafka_bootstrap, topic, b"rec-1", b'{"hello": "world"}')
    key, value = await _consume_one(kafka_bootstrap, topic, group=f"g-{uuid.uuid4().hex[:8]}")

    assert (key, value) == (b"rec-1", b'{"hello": "world"}')


async def test_ensure_topics_is_idempotent_with_the_configured_partitions(
    kafka_bootstrap: str, topics_ready: list[topics.TopicSpec]
) -> None:
    specs = topics.load_topics()
    assert specs == topics_ready
    # The session fixture already created them: nothing is left to create.
    assert await topics.ensure_topics(kafka_bootstrap, specs) == []
    assert await topics.ensure_topics(kafka_bootstrap, specs) == []

    admin = await _admin(kafka_bootstrap)
    try:
        described = await admin.describe_topics([s.name for s in specs])
    finally:
        await admin.close()
    partitions = {t["topic"]: len(t["partitions"]) for t in described}
    assert partitions == {s.name: s.partitions for s in specs}
    assert partitions["hotich.record.entered.v1"] == 6
    assert partitions["hotich.report.progress.v1"] == 3
    assert partitions["hotich.record.entered.v1.dlq"] == 1


async def test_the_progress_topic_is_compacted_where_the_broker_supports_it(
    broker: BrokerInfo, topics_ready: list[topics.TopicSpec]
) -> None:
    if not broker.supports_topic_configs:
        # tansu has no compaction; ensure_topics created the topic without configs.
        assert broker.kind == "tansu"
        return
    admin = await _admin(broker.bootstrap)
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, "hotich.report.progress.v1")]
        )
    finally:
        await admin.close()
    configs = {entry[0]: entry[1] for entry in response.resources[0][4]}
    assert configs["cleanup.policy"] == "compact"


async def test_ensure_topics_creates_only_what_is_missing(
    kafka_bootstrap: str, topics_ready: list[topics.TopicSpec], tmp_path: Path
) -> None:
    name = f"hotich.test.{uuid.uuid4().hex[:10]}"
    config = tmp_path / "topics.yaml"
    config.write_text(
        "defaults:\n  replication_factor: 1\n"
        f"topics:\n  - name: {name}\n    partitions: 4\n"
        "  - name: hotich.record.entered.v1\n    partitions: 6\n"
    )

    first = await topics.ensure_topics(kafka_bootstrap, topics.load_topics(config))
    second = await topics.ensure_topics(kafka_bootstrap, topics.load_topics(config))

    assert first == [name]
    assert second == []


@pytest.fixture
async def database(mongodb_url: str, database_name: str) -> AsyncIterator[Any]:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
        mongodb_url, serverSelectionTimeoutMS=5000
    )
    try:
        yield client[database_name]
        await client.drop_database(database_name)
    finally:
        client.close()


async def test_store_insert_and_find(database: Any) -> None:
    await database.records.insert_one({"_id": "r1", "ho_ten": "Nguyễn Văn A"})

    found = await database.records.find_one({"_id": "r1"})

    assert found == {"_id": "r1", "ho_ten": "Nguyễn Văn A"}


async def _insert_then_fail(database: Any, document: dict[str, Any]) -> None:
    async with await database.client.start_session() as session, session.start_transaction():
        await database.records.insert_one(document, session=session)
        raise RuntimeError("rolled back")


async def test_store_transactions_commit_and_abort(database: Any) -> None:
    await database.create_collection("records")
    client = database.client
    async with await client.start_session() as session, session.start_transaction():
        await database.records.insert_one({"_id": "kept"}, session=session)
    with pytest.raises(RuntimeError, match="rolled back"):
        await _insert_then_fail(database, {"_id": "dropped"})

    ids = [doc["_id"] async for doc in database.records.find({}, {"_id": 1})]

    assert ids == ["kept"]


async def test_store_unique_index_violation(database: Any) -> None:
    await database.records.create_index("event_id", unique=True)
    await database.records.insert_one({"event_id": "e-1"})

    with pytest.raises(DuplicateKeyError):
        await database.records.insert_one({"event_id": "e-1"})


async def test_kafka_restart_keeps_a_produced_message(tmp_path: Path) -> None:
    if not kafka.kafka_possible():
        # Without Java and Maven the local stack runs tansu, which keeps everything in
        # memory: a restart loses topics, messages and offsets. Assert that documented
        # behaviour instead, so a change in it is noticed.
        await _tansu_restart_loses_everything(tmp_path)
        return
    server = kafka.KafkaServer(
        data_dir=tmp_path / "kafka", port=procs.free_port(), controller_port=procs.free_port()
    )
    server.start(tmp_path / "kafka.log")
    try:
        await server.wait_ready(120)
        topic = await _create_topic(server.bootstrap, partitions=1)
        await _produce(server.bootstrap, topic, b"k", b"survives a restart")
        server.stop()
        assert not server.running

        server.start(tmp_path / "kafka.log")
        await server.wait_ready(120)
        key, value = await _consume_one(server.bootstrap, topic, group=None)
    finally:
        server.stop()

    assert (key, value) == (b"k", b"survives a restart")


async def _tansu_restart_loses_everything(tmp_path: Path) -> None:
    server = kafka.TansuServer(port=procs.free_port())
    server.start(tmp_path / "tansu.log")
    try:
        await server.wait_ready(60)
        topic = await _create_topic(server.bootstrap, partitions=1)
        await _produce(server.bootstrap, topic, b"k", b"lost on restart")
        server.stop()
        server.start(tmp_path / "tansu.log")
        await server.wait_ready(60)
        admin = await _admin(server.bootstrap)
        try:
            names = await admin.list_topics()
        finally:
            await admin.close()
    finally:
        server.stop()
    assert topic not in names


def test_topics_yaml_covers_the_contract_topics_and_their_dlqs() -> None:
    names = {s.name for s in topics.load_topics()}
    assert set(contract.ALL_TOPICS) <= names
    assert {contract.dlq(t) for t in contract.RECORD_TOPICS} <= names


def test_kafka_version_matches_the_pom() -> None:
    pom = (kafka.deploy_dir() / "kafka" / "pom.xml").read_text()
    assert f"<kafka.version>{kafka.KAFKA_VERSION}</kafka.version>" in pom


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    pid = procs.start(["sh", "-c", "sleep 300 & sleep 300"], log_path=tmp_path / "sleep.log")
    assert procs.is_running(pid)
    assert (procs.rss_bytes(pid) or 0) > 0

    procs.stop(pid, timeout=5)

    assert not procs.is_running(pid)
    assert procs.rss_bytes(pid) is None
    # The backgrounded grandchild got the signal too (same process group).
    assert not procs.group_alive(pid)


def test_free_ports_are_outside_the_ephemeral_range_and_never_handed_out_twice() -> None:
    # CI once lost a run to a service port picked by bind(0): a Kafka client's outgoing
    # connection took it before uvicorn bound it ("address already in use").
    ephemeral = procs.ephemeral_ports()
    ports = [procs.free_port() for _ in range(100)]

    assert len(set(ports)) == len(ports)
    assert not [port for port in ports if port in ephemeral]
    for port in ports:
        assert not procs.port_open(port)


async def test_wait_for_port_sees_a_listening_process(tmp_path: Path) -> None:
    port = procs.free_port()
    with pytest.raises(TimeoutError):
        await procs.wait_for_port(port, within=0.5)

    pid = procs.start(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        log_path=tmp_path / "http.log",
    )
    try:
        await procs.wait_for_port(port, within=20, alive=lambda: procs.is_running(pid))
    finally:
        procs.stop(pid)
    assert not procs.is_running(pid)


def test_stop_from_another_process_does_not_wait_for_unreaped_zombies(tmp_path: Path) -> None:
    # `hotich up` starts the processes and exits; `hotich down` stops them. The orphans'
    # zombies are PID 1's to reap, and some container inits never do: stop must not
    # mistake a zombie for a live process (it would wait out the timeout, then SIGKILL).
    script = (
        "import sys; from pathlib import Path; from hotich_local.infra import procs; "
        "print(procs.start(['sh', '-c', 'sleep 300 & sleep 300'], log_path=Path(sys.argv[1])))"
    )
    started = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "sleep.log")],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(started.stdout)
    assert procs.group_alive(pid)

    began = time.monotonic()
    procs.stop(pid, timeout=10)

    assert time.monotonic() - began < 5
    assert not procs.group_alive(pid)

"""Real processes for export's integration tests: the national sandbox and export instances.

Each test gets topics of its own (so the e2e stack sharing the session's broker never
sees its records), a database of its own, a sandbox on a free port with its own SQLite
file, and export processes started the way ``hotich up`` starts them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hotich_contracts.events import RecordDeduplicated, RecordExported
from hotich_local.infra import procs
from hotich_local.infra.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration

ADMIN = {"X-Admin-Key": "sandbox-admin"}
API = {"X-API-Key": "sandbox-key"}


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Topics:
    source: str
    exported: str


@pytest.fixture
async def export_topics(kafka_bootstrap: str) -> Topics:
    """A deduplicated and an exported topic of this test's own (6 partitions each)."""
    tag = uuid.uuid4().hex[:10]
    made = Topics(f"test.{tag}.deduplicated", f"test.{tag}.exported")
    await ensure_topics(
        kafka_bootstrap,
        [TopicSpec(name=made.source, partitions=6), TopicSpec(name=made.exported, partitions=6)],
        with_configs=False,
    )
    return made


@dataclass
class Sandbox:
    url: str
    pid: int
    log: Path
    client: httpx.AsyncClient = field(repr=False)

    async def stats(self) -> dict[str, Any]:
        response = await self.client.get("/v1/stats", headers=API)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async def faults(self, **faults: Any) -> None:
        response = await self.client.put("/admin/faults", json=faults, headers=ADMIN)
        assert response.status_code == 200, response.text

    async def rules(self, required_fields: Sequence[str]) -> None:
        response = await self.client.put(
            "/admin/rules", json={"required_fields": list(required_fields)}, headers=ADMIN
        )
        assert response.status_code == 200, response.text

    async def holdings(self, unit_code: str) -> dict[str, str]:
        """Idempotency key -> national id of every write the sandbox holds for a unit."""
        held: dict[str, str] = {}
        after = 0
        while True:
            response = await self.client.get(
                "/v1/records",
                params={"unit_code": unit_code, "after": after, "limit": 1000},
                headers=API,
            )
            if response.status_code != 200:  # an injected fault still active: ask again
                await asyncio.sleep(0.2)
                continue
            page = response.json()
            for item in page["items"]:
                for key in item["keys"]:
                    held[key] = item["national_id"]
            if page["next_after"] is None:
                return held
            after = page["next_after"]


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """The national sandbox as a process of its own (``python -m hotich_national_sandbox``)."""
    port = procs.free_port()
    log = tmp_path / "sandbox.log"
    pid = procs.start(
        [sys.executable, "-m", "hotich_national_sandbox"],
        log_path=log,
        env={
            "HOTICH_SANDBOX_HTTP_PORT": str(port),
            "HOTICH_SANDBOX_DB_PATH": str(tmp_path / "national.sqlite3"),
            "PYTHONUNBUFFERED": "1",
        },
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        try:
            await procs.wait_until(
                lambda: _ok(client, "/health/ready"),
                within=60,
                what="sandbox",
                alive=lambda: procs.is_running(pid),
            )
            yield Sandbox(url, pid, log, client)
        finally:
            procs.stop(pid)


async def _ok(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 200


@dataclass
class ExportService:
    """Export instances (processes) of one test, sharing a group, a database and topics."""

    env: dict[str, str]
    logs: Path
    pids: list[int] = field(default_factory=list)
    ports: dict[int, int] = field(default_factory=dict)
    started: int = 0

    async def start(self, **settings: str) -> int:
        """Start one more instance and wait until it answers ready; return its pid."""
        port = procs.free_port()
        n, self.started = self.started, self.started + 1
        log = self.logs / f"export-{n}.log"
        env = {**self.env, "HOTICH_EXPORT_HTTP_PORT": str(port), "HOTICH_INSTANCE_ID": f"x{n}"}
        env |= {f"HOTICH_EXPORT_{k.upper()}": v for k, v in settings.items()}
        pid = procs.start([sys.executable, "-m", "hotich_export"], log_path=log, env=env)
        self.pids.append(pid)
        self.ports[pid] = port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            try:
                await procs.wait_until(
                    lambda: _ok(client, "/health/ready"),
                    within=90,
                    what="export",
                    alive=lambda: procs.is_running(pid),
                )
            except TimeoutError as exc:
                raise AssertionError(f"{exc}\n{log_tail(log)}") from exc
        return pid

    def kill(self, pid: int) -> None:
        """SIGKILL an instance: no shutdown, no flush, no offset commit."""
        os.killpg(pid, signal.SIGKILL)
        procs.stop(pid, timeout=5)
        self.pids.remove(pid)

    async def status(self, pid: int | None = None) -> dict[str, Any]:
        port = self.ports[pid if pid is not None else self.pids[-1]]
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"http://127.0.0.1:{port}/v1/export/status")
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]

    def log_tails(self) -> str:
        return "\n".join(f"--- {p.name}\n{log_tail(p)}" for p in sorted(self.logs.glob("*.log")))

    def stop_all(self) -> None:
        for pid in list(self.pids):
            procs.stop(pid)
        self.pids.clear()


@pytest.fixture
async def export_service(
    kafka_bootstrap: str,
    mongodb_url: str,
    database_name: str,
    export_topics: Topics,
    sandbox: Sandbox,
    tmp_path: Path,
) -> AsyncIterator[ExportService]:
    """Export processes configured for this test (not started: tests start them)."""
    service = ExportService(
        env={
            "HOTICH_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "HOTICH_MONGODB_URL": mongodb_url,
            "HOTICH_EXPORT_MONGODB_DATABASE": database_name,
            "HOTICH_NATIONAL_URL": sandbox.url,
            "HOTICH_EXPORT_SOURCE_TOPIC": export_topics.source,
            "HOTICH_EXPORT_EXPORTED_TOPIC": export_topics.exported,
            "HOTICH_EXPORT_GROUP_ID": f"export-{database_name}",
            "HOTICH_EXPORT_CONSUMER_SESSION_TIMEOUT_MS": "6000",
            "PYTHONUNBUFFERED": "1",
        },
        logs=tmp_path,
    )
    try:
        yield service
    finally:
        service.stop_all()


async def publish(bootstrap: str, topic: str, events: Iterable[RecordDeduplicated]) -> None:
    """Publish dedup outcomes straight to Kafka, keyed by record id, as dedup does."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sends = [
            await producer.send(topic, e.model_dump_json().encode(), key=e.record_id.encode())
            for e in events
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def read_outcomes(
    bootstrap: str, topic: str, until: Callable[[list[RecordExported]], bool], within: float
) -> list[RecordExported]:
    """Read the exported topic from the start until ``until`` holds for what was read."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: list[RecordExported] = []
    try:
        async with asyncio.timeout(within):
            while not until(seen):
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    seen += [RecordExported.model_validate_json(m.value) for m in messages]
    finally:
        await consumer.stop()
    return seen

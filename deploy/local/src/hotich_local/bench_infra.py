"""What the benchmark scripts in ``bench/`` share: the broker and store, publishing, /proc figures.

:class:`BenchInfra` starts Kafka and SecantusDB in a temp dir (as the test fixtures do)
unless their endpoints are given (``--kafka`` / ``--mongodb``), and stops them on the
way out. The CPU and memory helpers here add up a whole process group (a launcher
script and the JVM it runs), on top of :func:`hotich_local.bench.cpu_seconds` and
:func:`hotich_local.bench.rss_mb`, which read one process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, Self

from aiokafka import AIOKafkaProducer

from hotich_local.bench import Echo, cpu_seconds, rss_mb, say
from hotich_local.infra import kafka, mongo, procs

Server = kafka.KafkaServer | kafka.TansuServer | mongo.SecantusServer


def add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    """``--kafka`` and ``--mongodb``: endpoints to use instead of starting the servers."""
    parser.add_argument("--kafka", help="use this Kafka instead of starting one")
    parser.add_argument("--mongodb", help="use this MongoDB instead of starting SecantusDB")


def save(figures: dict[str, Any], path: Path) -> None:
    """Write ``figures`` to ``path`` as indented JSON, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")


class BenchInfra:
    """Kafka and the store for one benchmark, as an async context manager.

    Each is started under ``home`` (default: a temp dir, removed on the way out) unless
    its endpoint is given; entering waits until each answers, leaving stops what was
    started here.
    """

    def __init__(
        self,
        kafka_bootstrap: str | None,
        mongodb_url: str | None,
        *,
        home: Path | None = None,
        prefix: str = "hotich-bench-",
        echo: Echo = say,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if home is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
            home = Path(self._tmp.name)
        home.mkdir(parents=True, exist_ok=True)
        self.home = home.resolve()
        self.bootstrap = kafka_bootstrap or ""
        self.mongodb_url = mongodb_url or ""
        self.echo = echo
        self.kinds = {"broker": "external", "store": "external"}
        self.servers: dict[str, Server] = {}

    async def start(self) -> None:
        """Start what was not given; wait until each answers."""
        if not self.bootstrap:
            broker = kafka.choose_broker(
                "auto", self.home / "kafka", procs.free_port(), procs.free_port(), echo=self.echo
            )
            broker.start(self.home / "kafka.log")
            self.servers["broker"] = broker
            await broker.wait_ready(180)
            self.bootstrap = broker.bootstrap
            self.kinds["broker"] = f"{broker.kind} {broker.version}"
            self.echo(f"{broker.kind} {broker.version} on {self.bootstrap}")
        if not self.mongodb_url:
            store = mongo.SecantusServer(self.home / "secantus", port=procs.free_port())
            store.start(self.home / "secantus.log")
            self.servers["store"] = store
            await store.wait_ready(120)
            self.mongodb_url = store.url
            self.kinds["store"] = store.kind
            self.echo(f"SecantusDB on {self.mongodb_url}")

    def pids(self, *, by_kind: bool = False) -> dict[str, int]:
        """Pids of the servers started here, named by role (``broker``, ``store``) or kind."""
        return {
            server.kind if by_kind else role: server.pid
            for role, server in self.servers.items()
            if server.pid is not None
        }

    def stop(self) -> None:
        """Stop every server started here; remove the temp dir."""
        for server in reversed(self.servers.values()):
            server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    async def __aenter__(self) -> Self:
        """Start (:meth:`start`); stop again what did start if that fails."""
        try:
            await self.start()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop (:meth:`stop`)."""
        self.stop()


async def publish(bootstrap: str, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
    """Publish (key, value) pairs; wait for every ack."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        sends = [await producer.send(topic, value, key=key) for key, value in messages]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


def group_pids(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (the leader alone if none is found)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with suppress(OSError, IndexError, ValueError):
            # After "(comm)": state, ppid, pgrp, ...
            state, _, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            if group == str(pgid) and state != "Z":
                found.append(int(entry.name))
    return found or [pgid]


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of process group ``pgid`` so far."""
    return sum(cpu_seconds(pid) or 0.0 for pid in group_pids(pgid))


def group_rss_mb(pgid: int) -> float:
    """Resident memory of process group ``pgid`` in MiB."""
    return sum(rss_mb(pid) or 0.0 for pid in group_pids(pgid))

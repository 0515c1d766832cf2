"""Benchmark export against the national sandbox: throughput per instance, memory in an outage.

Usage::

    uv run python bench/export_bench.py                       # both parts, the issue's sizes
    uv run python bench/export_bench.py --records 20000 --instances 1,2,3 --skip-outage
    uv run python bench/export_bench.py --skip-throughput --backlog 100000 --outage-s 600

Throughput: the sandbox answers every call after ``--latency-ms`` (50 ms, fixed); K export
instances (one consumer group, ``--concurrency`` calls in flight each) export
``--records`` accepted records published to Kafka; the rate is measured at the sandbox
(writes per second) between 10% and 90% of the run, so the start and the tail do not
count, and over the whole run. Each K gets fresh topics, database and sandbox data.

Outage: the sandbox is down (503) while ``--backlog`` records arrive and for
``--outage-s`` seconds in all; one export instance's resident memory (RSS) is sampled
every second. Then the sandbox comes back and the drain is timed. Afterwards the sandbox
must hold every record exactly once.

Kafka and SecantusDB are started in a temp dir (as the test fixtures do) unless
``--kafka`` / ``--mongodb`` are given. Results go to ``bench/results/export.json``.
This is a script, not a timed test: figures depend on the machine (2 shared cores here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from hotich_contracts.events import RecordDeduplicated, RecordDeduplicatedPayload, RecordStatus
from hotich_contracts.examples import example_record
from hotich_contracts.records import RECORD_ADAPTER, RecordType
from hotich_local.bench import ProcSampler, rss_mb, say
from hotich_local.bench_infra import BenchInfra, add_endpoint_options, publish, save
from hotich_local.infra import procs
from hotich_local.infra.topics import TopicSpec, ensure_topics

ADMIN = {"X-Admin-Key": "sandbox-admin"}
API = {"X-API-Key": "sandbox-key"}


def events(n: int, start: int = 0) -> list[tuple[bytes, bytes]]:
    """``n`` accepted records (distinct register entries): (record id, serialized event)."""
    record = RECORD_ADAPTER.validate_python(example_record(RecordType.BIRTH))
    out = []
    for i in range(start, start + n):
        event = RecordDeduplicated(
            actor="service:dedup",
            correlation_id=f"bench-{i}",
            record_id=f"bench-{uuid.uuid4().hex}",
            record_version=1,
            unit_code=("25459", "25460", "25461")[i % 3],
            payload=RecordDeduplicatedPayload(
                status=RecordStatus.ACCEPTED,
                phase=1,
                record=record.model_copy(update={"entry_number": str(i)}),
            ),
        )
        out.append((event.record_id.encode(), event.model_dump_json().encode()))
    return out


class Infra(BenchInfra):
    """Kafka, the store and the sandbox for the benchmark."""

    sandbox_pid = 0
    sandbox_url = ""

    async def start(self) -> None:
        """Start what was not given, and the sandbox; wait until each answers."""
        await super().start()
        port = procs.free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        self.sandbox_pid = procs.start(
            [sys.executable, "-m", "hotich_national_sandbox"],
            log_path=self.home / "sandbox.log",
            env={
                "HOTICH_SANDBOX_HTTP_PORT": str(port),
                "HOTICH_SANDBOX_DB_PATH": str(self.home / "national.sqlite3"),
            },
        )
        async with httpx.AsyncClient(base_url=self.sandbox_url) as client:
            await procs.wait_until(lambda: _ok(client, "/health/ready"), within=60, what="sandbox")

    def stop(self) -> None:
        """Stop everything this benchmark started."""
        if self.sandbox_pid:
            procs.stop(self.sandbox_pid)
        super().stop()


async def _ok(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 200


@asynccontextmanager
async def exporters(
    infra: Infra, count: int, topic: str, concurrency: int, extra: dict[str, str] | None = None
) -> AsyncIterator[list[tuple[int, int]]]:
    """Start ``count`` export instances in one group; yield [(pid, port)]; stop them."""
    tag = uuid.uuid4().hex[:8]
    started: list[tuple[int, int]] = []
    try:
        for n in range(count):
            port = procs.free_port()
            env = {
                "HOTICH_KAFKA_BOOTSTRAP": infra.bootstrap,
                "HOTICH_MONGODB_URL": infra.mongodb_url,
                "HOTICH_EXPORT_MONGODB_DATABASE": f"bench_export_{tag}",
                "HOTICH_EXPORT_HTTP_PORT": str(port),
                "HOTICH_NATIONAL_URL": infra.sandbox_url,
                "HOTICH_EXPORT_SOURCE_TOPIC": topic,
                "HOTICH_EXPORT_EXPORTED_TOPIC": f"{topic}.exported",
                "HOTICH_EXPORT_GROUP_ID": f"bench-{tag}",
                **({"HOTICH_EXPORT_CONCURRENCY": str(concurrency)} if concurrency else {}),
                "HOTICH_EXPORT_LOG_LEVEL": "WARNING",
                "HOTICH_INSTANCE_ID": f"bench-{n}",
                **(extra or {}),
            }
            pid = procs.start(
                [sys.executable, "-m", "hotich_export"],
                log_path=infra.home / f"export-{tag}-{n}.log",
                env=env,
            )
            started.append((pid, port))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                await procs.wait_until(
                    lambda c=client: _ok(c, "/health/ready"),  # type: ignore[misc]
                    within=120,
                    what=f"export instance {n}",
                    alive=lambda p=pid: procs.is_running(p),  # type: ignore[misc]
                )
        yield started
    finally:
        for pid, _ in started:
            procs.stop(pid)


async def batch_metrics(port: int) -> dict[str, float]:
    """Consumed batches of one instance: how many, and their mean duration (Prometheus)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        for name in ("hotich_batch_seconds_count", "hotich_batch_seconds_sum"):
            if line.startswith(name + "{"):
                values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    count = values.get("hotich_batch_seconds_count", 0.0)
    mean = values.get("hotich_batch_seconds_sum", 0.0) / count if count else 0.0
    return {"batches": count, "mean_batch_s": round(mean, 3)}


async def make_topic(infra: Infra) -> str:
    """Fresh source and exported topics (6 partitions each); return the source."""
    topic = f"bench.{uuid.uuid4().hex[:8]}.deduplicated"
    await ensure_topics(
        infra.bootstrap,
        [TopicSpec(name=topic, partitions=6), TopicSpec(name=f"{topic}.exported", partitions=6)],
        with_configs=False,
    )
    return topic


async def sandbox_reset(client: httpx.AsyncClient, **faults: Any) -> None:
    """Forget the sandbox's records and counters; put ``faults`` in force."""
    (await client.post("/admin/reset", headers=ADMIN)).raise_for_status()
    (await client.put("/admin/faults", json=faults, headers=ADMIN)).raise_for_status()


async def writes(client: httpx.AsyncClient) -> int:
    """Writes the sandbox holds."""
    return int((await client.get("/v1/stats", headers=API)).json()["writes"])


async def throughput(
    infra: Infra, instances: int, records: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One run: ``records`` through ``instances`` export instances at the given latency."""
    async with httpx.AsyncClient(base_url=infra.sandbox_url, timeout=30) as sandbox:
        await sandbox_reset(sandbox, latency_ms=args.latency_ms, latency_distribution="fixed")
        topic = await make_topic(infra)
        payload = events(records)
        extra = {"HOTICH_EXPORT_CONSUMER_MAX_RECORDS": str(args.batch)} if args.batch else None
        async with exporters(infra, instances, topic, args.concurrency, extra) as started:
            exporting = {f"export-{n}": pid for n, (pid, _) in enumerate(started)}
            others = {"sandbox": infra.sandbox_pid, **infra.pids(by_kind=True)}
            sampler = ProcSampler(exporting | others)
            sampler.sample(time.monotonic())
            say(f"{instances} instance(s): publishing {records} records")
            publisher = asyncio.create_task(publish(infra.bootstrap, topic, payload))
            marks: list[tuple[float, int]] = []
            deadline = time.monotonic() + args.timeout_s
            while time.monotonic() < deadline:
                n = await writes(sandbox)
                now = time.monotonic()
                marks.append((now, n))
                sampler.sample(now)
                if n >= records:
                    break
                await asyncio.sleep(0.2)
            await publisher
            sampler.sample(time.monotonic())
            usage = sampler.summary()
            stats = (await sandbox.get("/v1/stats", headers=API)).json()
            batches = [await batch_metrics(port) for _, port in started]
    first = next(t for t, n in marks if n > 0)
    last = marks[-1][0]
    p10 = next(t for t, n in marks if n >= records * 0.1)
    p90 = next(t for t, n in marks if n >= records * 0.9)
    n10 = next(n for t, n in marks if t >= p10)
    n90 = next(n for t, n in marks if t >= p90)
    result = {
        "instances": instances,
        "records": records,
        "held": stats["writes"],
        "duplicates": stats["duplicate_sources"],
        "records_per_s_steady": round((n90 - n10) / (p90 - p10), 1),
        "records_per_s_overall": round(stats["writes"] / (last - first), 1),
        "seconds": round(last - first, 1),
        "cpu_s_export": [usage[name]["cpu_s"] for name in exporting],
        "cpu_s_others": {name: usage[name]["cpu_s"] for name in others},
        "batches": batches,
        "peak_rss_mb_export": [usage[name]["rss_peak_mb"] for name in exporting],
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "cpu_cores_used": round(sum(u["cpu_s"] for u in usage.values()) / (last - first), 2),
    }
    say(json.dumps(result))
    return result


async def outage(infra: Infra, args: argparse.Namespace) -> dict[str, Any]:
    """Memory of one instance while a backlog piles up during an outage, then the drain."""
    backlog, outage_s = args.backlog, args.outage_s
    async with httpx.AsyncClient(base_url=infra.sandbox_url, timeout=30) as sandbox:
        await sandbox_reset(
            sandbox, latency_ms=args.latency_ms, latency_distribution="fixed", outage=True
        )
        topic = await make_topic(infra)
        async with exporters(infra, 1, topic, args.concurrency) as [(pid, port)]:
            status_url = f"http://127.0.0.1:{port}/v1/export/status"
            began = time.monotonic()
            samples: list[dict[str, Any]] = []
            idle_rss = rss_mb(pid) or 0.0

            async def feed() -> None:
                chunk = 5000
                for start in range(0, backlog, chunk):
                    await publish(
                        infra.bootstrap, topic, events(min(chunk, backlog - start), start)
                    )
                say(f"backlog of {backlog} published after {time.monotonic() - began:.0f}s")

            feeder = asyncio.create_task(feed())
            status: dict[str, Any] = {"deliveries": {}, "breaker": "?"}
            while time.monotonic() - began < outage_s or not feeder.done():
                if len(samples) % 5 == 0:  # the status counts the whole store: not every second
                    status = (await sandbox.get(status_url)).json()
                samples.append(
                    {
                        "t": round(time.monotonic() - began, 1),
                        "rss_mb": rss_mb(pid) or 0.0,
                        "parked": status["deliveries"].get("pending", 0),
                        "breaker": status["breaker"],
                    }
                )
                if len(samples) % 30 == 0:
                    say(f"outage: {samples[-1]}")
                await asyncio.sleep(1)
            await feeder
            refused = (
                (await sandbox.get("/v1/stats", headers=API))
                .json()["counters"]
                .get("outage_refused", 0)
            )
            say("outage over")
            (
                await sandbox.patch("/admin/faults", json={"outage": False}, headers=ADMIN)
            ).raise_for_status()
            back = time.monotonic()
            drain_rss = 0.0
            while True:
                n = await writes(sandbox)
                drain_rss = max(drain_rss, rss_mb(pid) or 0.0)
                if n >= backlog:
                    break
                if time.monotonic() - back > args.timeout_s:
                    raise TimeoutError(f"drain incomplete: {n} of {backlog}")
                await asyncio.sleep(0.5)
            drained = time.monotonic() - back
            stats = (await sandbox.get("/v1/stats", headers=API)).json()
    result = {
        "backlog": backlog,
        "outage_s": round(samples[-1]["t"], 1),
        "rss_mb_idle": idle_rss,
        "rss_mb_max_during_outage": max(s["rss_mb"] for s in samples),
        "rss_mb_end_of_outage": samples[-1]["rss_mb"],
        "parked_at_end_of_outage": samples[-1]["parked"],
        "calls_refused_during_outage": refused,
        "drain_s": round(drained, 1),
        "drain_records_per_s": round(backlog / drained, 1),
        "rss_mb_max_during_drain": drain_rss,
        "held_after": stats["writes"],
        "duplicates": stats["duplicate_sources"],
        "rss_samples": samples[:: max(1, len(samples) // 60)],
    }
    say(json.dumps({k: v for k, v in result.items() if k != "rss_samples"}))
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Start the infrastructure, run the parts asked for, return the figures."""
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            "latency_ms": args.latency_ms,
            "concurrency_per_instance": args.concurrency or "service default (128)",
            "batch": args.batch or "service default (1000)",
            "records": args.records,
            "backlog": args.backlog,
            "outage_s": args.outage_s,
        },
    }
    async with Infra(args.kafka, args.mongodb, prefix="hotich-export-bench-") as infra:
        if not args.skip_throughput:
            results["throughput"] = [
                await throughput(infra, int(k), args.records, args)
                for k in args.instances.split(",")
            ]
        if not args.skip_outage:
            results["outage"] = await outage(infra, args)
    return results


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000, help="per throughput run")
    parser.add_argument("--instances", default="1,2,3", help="instance counts to run")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="calls in flight per instance (0: the service's default, 128)",
    )
    parser.add_argument(
        "--batch", type=int, default=0, help="records per consumed batch (0: the service's default)"
    )
    parser.add_argument(
        "--backlog", type=int, default=100_000, help="records piled up in the outage"
    )
    parser.add_argument("--outage-s", type=float, default=600.0, help="outage duration")
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="give up a run after this")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-outage", action="store_true")
    add_endpoint_options(parser)
    parser.add_argument("--out", type=Path, default=Path("bench/results/export.json"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    figures = asyncio.run(main(arguments))
    save(figures, arguments.out)
    print(
        json.dumps(
            {k: v for k, v in figures.items() if k != "outage"}
            | {
                "outage": {k: v for k, v in figures.get("outage", {}).items() if k != "rss_samples"}
            },
            indent=2,
        )
    )

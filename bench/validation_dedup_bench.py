"""Benchmark validation + dedup end to end: records/s from record.entered to a dedup outcome.

Usage::

    uv run python bench/validation_dedup_bench.py                 # 50,000 items, 1 and 2 instances
    uv run python bench/validation_dedup_bench.py --items 10000 --instances 1
    uv run python bench/validation_dedup_bench.py --kafka HOST:PORT --mongodb URL

For each instance count K (``--instances 1,2``): fresh topics (6 partitions, as
``deploy/topics.yaml``), a fresh dedup database and fresh consumer groups; the
generated records (``hotich_local.synth``, the well-formed items of ``--items``) are
published to the entered topic *before* any service runs; then K validation and K dedup
processes start, the way ``hotich up --scale validation=K,dedup=K`` starts them
(``python -m hotich_validation`` / ``hotich_dedup`` with the stack's environment), and
the run is timed until dedup has published an outcome for every record validation
found valid (records validation rejects get no dedup outcome: they are not dedup's
business). The expected set is computed in this process with the same ``Validator``.

Measured, every 0.25 s: the distinct records with an outcome on the validated and
deduplicated topics (two readers follow them, keys only, so redelivered copies do not
count); per process, CPU time (utime + stime of its process group, from ``/proc/<pid>/stat``) and
resident memory (``VmRSS``). The clock starts when the first validated outcome appears
(process start-up, a few seconds of imports, is reported apart) and stops when the
last dedup outcome does. ``records_per_s`` = entered records / that time. Afterwards
both output topics are read back: one distinct outcome per record, nothing missing.

Kafka and SecantusDB are started in a temp dir (as the test fixtures do) unless
``--kafka`` / ``--mongodb`` are given. Results go to ``bench/results/validation_dedup.json``.
A script, not a timed test: figures depend on the machine (2 shared cores here).
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
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from hotich_contracts.events import (
    RecordDeduplicated,
    RecordStatus,
    RecordValidated,
)
from hotich_contracts.plan import load_plan
from hotich_contracts.topics import dlq
from hotich_contracts.units import default_registry
from hotich_local import stack
from hotich_local.bench import say
from hotich_local.bench_infra import (
    BenchInfra,
    add_endpoint_options,
    group_cpu_seconds,
    group_rss_mb,
    publish,
    save,
)
from hotich_local.infra import procs
from hotich_local.infra.topics import TopicSpec, ensure_topics
from hotich_local.synth import GenerationConfig, generate
from hotich_local.synth.events import entered_event
from hotich_validation.service_layer.handlers import Validator

PARTITIONS = 6
SERVICES = {
    "validation": ("hotich_validation", "HOTICH_VALIDATION_"),
    "dedup": ("hotich_dedup", "HOTICH_DEDUP_"),
}


@dataclass
class Workload:
    """The entered events, serialized, and the records validation lets through."""

    messages: list[tuple[bytes, bytes]]
    valid: set[tuple[str, int]]
    rejected: int
    built_s: float


def build(items: int, seed: int) -> Workload:
    """Entered events of the generator's well-formed items; the valid ones, as validated here."""
    started = time.perf_counter()
    validator = Validator(plan=load_plan(), registry=default_registry())
    messages: list[tuple[bytes, bytes]] = []
    valid: set[tuple[str, int]] = set()
    rejected = 0
    config = GenerationConfig(seed=seed, total=items, province_level=max(1, items // 60))
    for item in generate(config):
        truth = item["truth"]
        if truth["malformed"]:
            continue  # refused at intake (422): never entered
        event = entered_event(item, actor="bench")
        if validator.validate(event).payload.status == RecordStatus.VALID:
            valid.add((event.record_id, event.record_version))
        else:
            rejected += 1
        messages.append((event.record_id.encode(), event.model_dump_json().encode()))
    return Workload(messages, valid, rejected, time.perf_counter() - started)


@dataclass
class Run:
    """The topics, groups and database of one run."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def entered(self) -> str:
        """Where the records are pre-loaded."""
        return f"bench.{self.tag}.entered"

    @property
    def validated(self) -> str:
        """Validation's outcomes."""
        return f"bench.{self.tag}.validated"

    @property
    def deduplicated(self) -> str:
        """Dedup's outcomes."""
        return f"bench.{self.tag}.deduplicated"

    def settings(self, service: str) -> dict[str, str]:
        """Settings (without prefix) pointing ``service`` at this run's topics and groups."""
        if service == "validation":
            return {
                "SOURCE_TOPIC": self.entered,
                "VALIDATED_TOPIC": self.validated,
                "GROUP_ID": f"bench-validation-{self.tag}",
            }
        return {
            "SOURCE_TOPIC": self.validated,
            "DEDUPLICATED_TOPIC": self.deduplicated,
            "GROUP_ID": f"bench-dedup-{self.tag}",
            "MONGODB_DATABASE": f"bench_dedup_{self.tag}",
        }


async def make_topics(infra: BenchInfra, run: Run) -> None:
    """The run's topics: lifecycle topics of 6 partitions, dead-letter topics of 1."""
    specs = [TopicSpec(name=t, partitions=PARTITIONS) for t in (run.entered, run.validated)]
    specs += [TopicSpec(name=run.deduplicated, partitions=PARTITIONS)]
    specs += [TopicSpec(name=dlq(t), partitions=1) for t in (run.entered, run.validated)]
    await ensure_topics(infra.bootstrap, specs, with_configs=False)


async def _ready(port: int) -> bool:
    async with httpx.AsyncClient(timeout=2) as client:
        return (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200


@asynccontextmanager
async def services(
    infra: BenchInfra, run: Run, instances: int, max_records: int
) -> AsyncIterator[tuple[dict[str, int], dict[str, int]]]:
    """Start ``instances`` of validation and of dedup; yield ({name: pid}, {name: port}).

    Yields at once, before they are ready (the caller watches them start); stops them
    on the way out.
    """
    config = stack.StackConfig.load(
        str(infra.home / f"home-{run.tag}"), free_ports=True, database_prefix=f"bench_{run.tag}_"
    )
    logs = infra.home / f"logs-{run.tag}"
    started: dict[str, int] = {}
    ports: dict[str, int] = {}
    try:
        for service, (module, prefix) in SERVICES.items():
            for index in range(1, instances + 1):
                name = stack.instance_name(service, index)
                env = stack.service_env(
                    config, prefix, service, infra.bootstrap, infra.mongodb_url, logs
                )
                ports[name] = procs.free_port()
                env |= {f"{prefix}{k}": v for k, v in run.settings(service).items()}
                env |= {
                    f"{prefix}HTTP_PORT": str(ports[name]),
                    f"{prefix}CONSUMER_MAX_RECORDS": str(max_records),
                    "HOTICH_INSTANCE_ID": str(index),
                }
                started[name] = procs.start(
                    [sys.executable, "-m", module], log_path=logs / f"{name}.log", env=env
                )
        yield started, ports
    finally:
        for pid in started.values():
            procs.stop(pid)


async def all_ready(pids: dict[str, int], ports: dict[str, int]) -> None:
    """Wait until every process answers ``/health/ready``."""
    for name, pid in pids.items():
        await procs.wait_until(
            lambda port=ports[name]: _ready(port),  # type: ignore[misc]
            within=120,
            what=name,
            alive=lambda pid=pid: procs.is_running(pid),  # type: ignore[misc]
        )


METRICS = (
    "hotich_batch_seconds_count",
    "hotich_batch_seconds_sum",
    "hotich_handler_retries_total",
    "hotich_dead_letters_total",
    "hotich_events_consumed_total",
)


async def scrape(port: int) -> dict[str, float]:
    """Batches, their total time, retries, dead letters and events consumed (Prometheus)."""
    values = dict.fromkeys(METRICS, 0.0)
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    except httpx.HTTPError:
        return values
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in values:
            values[name] += float(line.rsplit(" ", 1)[1])
    return {k.removeprefix("hotich_"): round(v, 2) for k, v in values.items()}


@dataclass
class KeyReader:
    """Follows a topic from its start, keeping the distinct message keys (record ids).

    Every record here has one version, so a record id seen is a record with an outcome;
    a redelivered copy adds nothing. Keys only: no JSON is decoded while timing.
    """

    bootstrap: str
    topic: str
    keys: set[bytes] = field(default_factory=set)

    async def run(self) -> None:
        """Read until cancelled."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(self.topic, p) for p in range(PARTITIONS)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
                for messages in batches.values():
                    self.keys.update(m.key for m in messages if m.key is not None)
        finally:
            await consumer.stop()


async def read_all(bootstrap: str, topic: str) -> list[bytes]:
    """Every message value of ``topic`` up to its end offsets now."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[bytes] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for messages in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                values += [m.value for m in messages if m.value is not None]
        return values
    finally:
        await consumer.stop()


async def throughput(
    infra: BenchInfra, work: Workload, instances: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One run: every entered record through ``instances`` validation and dedup instances."""
    run = Run()
    await make_topics(infra, run)
    total, expected = len(work.messages), len(work.valid)
    say(f"{instances} instance(s) each: pre-loading {total} entered records")
    await publish(infra.bootstrap, run.entered, work.messages)
    validated_keys = KeyReader(infra.bootstrap, run.validated)
    dedup_keys = KeyReader(infra.bootstrap, run.deduplicated)
    readers = [asyncio.create_task(r.run()) for r in (validated_keys, dedup_keys)]
    launched = time.monotonic()
    try:
        async with services(infra, run, instances, args.max_records) as (pids, ports):
            watched = {**pids, **infra.pids()}
            cpu_start = {name: group_cpu_seconds(pid) for name, pid in watched.items()}
            readiness = asyncio.create_task(all_ready(pids, ports))
            ready: float | None = None
            peak = dict.fromkeys(watched, 0.0)
            marks: list[tuple[float, int, int]] = []
            cpu_first: dict[str, float] = {}
            deadline = time.monotonic() + args.timeout_s
            while True:
                now = time.monotonic()
                validated, deduplicated = len(validated_keys.keys), len(dedup_keys.keys)
                marks.append((now, validated, deduplicated))
                for reader in readers:
                    if reader.done():
                        reader.result()  # raises what stopped it
                for name, pid in watched.items():
                    peak[name] = max(peak[name], group_rss_mb(pid))
                if validated and not cpu_first:
                    cpu_first = {name: group_cpu_seconds(pid) for name, pid in watched.items()}
                if ready is None and readiness.done():
                    readiness.result()  # raises if one did not start
                    ready = now
                    say(f"{', '.join(pids)} ready after {ready - launched:.1f}s")
                if dead := [name for name, pid in pids.items() if not procs.is_running(pid)]:
                    raise RuntimeError(f"{', '.join(dead)} died; logs in {infra.home}")
                if deduplicated >= expected and validated >= total:
                    break
                if now > deadline:
                    raise TimeoutError(f"{validated}/{total} validated, {deduplicated}/{expected}")
                if len(marks) % 40 == 0:
                    say(f"validated {validated}/{total}, deduplicated {deduplicated}/{expected}")
                await asyncio.sleep(0.25)
            cpu_end = {name: group_cpu_seconds(pid) for name, pid in watched.items()}
            rss_end = {name: round(group_rss_mb(pid), 1) for name, pid in watched.items()}
            counters = {name: await scrape(port) for name, port in ports.items()}
            await readiness
            ready = ready or time.monotonic()
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    first = next(t for t, v, _ in marks if v > 0)
    validated_at = next(t for t, v, _ in marks if v >= total)
    done = marks[-1][0]
    seconds = done - first
    p10 = next(t for t, _, d in marks if d >= expected * 0.1)
    p90 = next(t for t, _, d in marks if d >= expected * 0.9)
    d10 = next(d for t, _, d in marks if t >= p10)
    d90 = next(d for t, _, d in marks if t >= p90)
    # Read back: one distinct outcome per record, nothing missing.
    validated_events = [
        RecordValidated.model_validate_json(v)
        for v in await read_all(infra.bootstrap, run.validated)
    ]
    dedup_events = [
        RecordDeduplicated.model_validate_json(v)
        for v in await read_all(infra.bootstrap, run.deduplicated)
    ]
    dedup_ids = {(e.record_id, e.record_version) for e in dedup_events}
    statuses = Counter(
        str(e.payload.status.value) for e in {str(e.event_id): e for e in dedup_events}.values()
    )
    process_cpu = {
        name: {
            "cpu_s": round(cpu_end[name] - cpu_first.get(name, cpu_start[name]), 1),
            "cpu_s_startup": round(cpu_first.get(name, cpu_start[name]) - cpu_start[name], 1),
            "cores": round((cpu_end[name] - cpu_first.get(name, cpu_start[name])) / seconds, 2),
            "rss_mb_peak": round(peak[name], 1),
            "rss_mb_end": rss_end[name],
            **({"metrics": counters[name]} if name in counters else {}),
        }
        for name in watched
    }
    result = {
        "instances_each": instances,
        "records": total,
        "valid": expected,
        "rejected_by_validation": total - expected,
        "seconds": round(seconds, 1),
        "records_per_s": round(total / seconds, 1),
        "dedup_outcomes_per_s": round(expected / seconds, 1),
        "dedup_outcomes_per_s_steady_10_90": round((d90 - d10) / (p90 - p10), 1),
        "validation_done_s": round(validated_at - first, 1),
        "validation_records_per_s": round(total / max(validated_at - first, 1e-3), 1),
        "first_outcome_after_launch_s": round(first - launched, 1),
        "all_ready_after_launch_s": round(ready - launched, 1),
        "processes": process_cpu,
        "check": {
            "validated_messages": len(validated_events),
            "validated_distinct_event_ids": len({e.event_id for e in validated_events}),
            "dedup_messages": len(dedup_events),
            "dedup_distinct_event_ids": len({e.event_id for e in dedup_events}),
            "dedup_missing": len(work.valid - dedup_ids),
            "dedup_unexpected": len(dedup_ids - work.valid),
            "dedup_statuses": dict(statuses),
        },
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }
    say(json.dumps({k: v for k, v in result.items() if k != "processes"}))
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the workload, start the infrastructure, run each instance count."""
    say(f"generating {args.items} items (seed {args.seed})")
    work = build(args.items, args.seed)
    say(f"{len(work.messages)} entered records, {len(work.valid)} valid ({work.built_s:.1f}s)")
    results: dict[str, Any] = {
        "benchmark": "validation_dedup",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            "items": args.items,
            "seed": args.seed,
            "partitions": PARTITIONS,
            "consumer_max_records": args.max_records,
        },
    }
    async with BenchInfra(
        args.kafka, args.mongodb, home=args.home, prefix="hotich-vd-bench-"
    ) as infra:
        results["infra"] = dict(infra.kinds)
        results["runs"] = [
            await throughput(infra, work, int(k), args) for k in args.instances.split(",")
        ]
    return results


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=50_000, help="synthetic items to generate")
    parser.add_argument("--seed", type=int, default=2547)
    parser.add_argument("--instances", default="1,2", help="instances of each service, per run")
    parser.add_argument(
        "--max-records", type=int, default=500, help="consumer batch size (the default)"
    )
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="give up a run after this")
    add_endpoint_options(parser)
    parser.add_argument("--home", type=Path, help="keep data and logs here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/validation_dedup.json"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    figures = asyncio.run(main(arguments))
    save(figures, arguments.out)
    print(json.dumps(figures, indent=2))

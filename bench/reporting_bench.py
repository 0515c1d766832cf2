"""Benchmark of reporting: projection throughput, rebuild time, report query latency.

Usage::

    uv run python bench/reporting_bench.py                       # the plan's 1,366,849 records
    uv run python bench/reporting_bench.py --records 200000 --live-records 50000

What it does, on Kafka and SecantusDB started in a temp dir (as the test fixtures do)
unless ``--kafka`` / ``--mongodb`` are given:

1. generates ``--records`` synthetic records (``hotich generate``'s generator) and turns
   each into the lifecycle events the pipeline would publish for it (entered, validated,
   deduplicated, exported, as its ground truth says);
2. **live projection**: publishes the events of the first ``--live-records`` records,
   starts the reporting service (``python -m hotich_reporting``, its own process) on a
   fresh database and consumer group, and times how long it takes to drain that
   backlog: records per second it sustains (goal: keep up with 2,300 records/s); then
   rebuilds the same events into another database and checks it equals the live one;
3. publishes the rest and **rebuilds** all of them (``hotich reporting rebuild``'s
   code path: replay the topics, fold in memory, bulk load): goal at most 5 minutes for
   1,366,849 records;
4. **queries**: imports the survey of the whole set, starts the service on the rebuilt
   database (its consumer group already at the end of the topics, so it is idle) and
   times report requests over HTTP: progress of the province, a district and a commune
   per phase, a commune's register books, a book's gaps; goal p99 at most 100 ms.

Results go to ``bench/results/reporting.json``. Figures depend on the machine (two
shared cores here): this is a script, not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from hotich_contracts import topics
from hotich_local.infra import kafka, mongo, procs
from hotich_local.infra.topics import ensure_topics, load_topics
from hotich_local.synth import GenerationConfig, generate, survey_rows
from hotich_local.synth.model import PLAN_TOTAL
from hotich_local.synth.survey import SURVEY_COLUMNS
from hotich_reporting.adapters.kafka_replay import ReplayStats, replay, topic_partitions
from hotich_reporting.adapters.mongo_projection import MongoProjection
from hotich_reporting.service_layer.rebuild import compare, rebuild
from hotich_runtime import mongo as runtime_mongo
from hotich_runtime.auth import Principal, Role, issue_token

SECRET = "reporting-bench-secret-0123456789abcdef"
NAMESPACE = uuid.UUID("9d7c1f4e-3a2b-4c5d-8e6f-7a8b9c0d1e2f")


def say(message: str) -> None:
    """Progress on stderr, timestamped."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _envelope(record_id: str, unit: str, stage: str, at: datetime) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid5(NAMESPACE, f"{record_id}:{stage}")),
        "occurred_at": at.isoformat(),
        "actor": "bench",
        "correlation_id": record_id,
        "record_id": record_id,
        "record_version": 1,
        "unit_code": unit,
        "schema_version": 1,
    }


def _reason(code: str) -> dict[str, str]:
    return {"code": code, "severity": "error", "message_vi": code, "message_en": code}


def lifecycle_events(
    config: GenerationConfig, start: int, stop: int
) -> Iterator[tuple[str, bytes, bytes]]:
    """(topic, key, value) of every event of records ``start``..``stop`` of the set.

    The record travels as the generator wrote it (contract-shaped JSON); the outcome
    follows the item's ground truth.
    """
    base = datetime(2020, 3, 1, tzinfo=UTC)
    for index, item in enumerate(generate(config)):
        if index < start:
            continue
        if index >= stop:
            return
        truth = item["truth"]
        if truth["malformed"]:
            continue
        record = item["record"]
        record_id = str(uuid.uuid5(NAMESPACE, truth["id"]))
        key = record_id.encode()
        unit = truth["entering_unit_code"]
        at = base + timedelta(seconds=index)
        dump = json.dumps

        entered = {**_envelope(record_id, unit, "e", at), "event_type": "record.entered",
                   "payload": {"record": record, "idempotency_key": None}}  # fmt: skip
        yield topics.RECORD_ENTERED, key, dump(entered, ensure_ascii=False).encode()
        reasons = [r for r in truth["reasons"] if r != "duplicate_exact"]
        phase = truth["phase"]
        validated = {
            **_envelope(record_id, unit, "v", at + timedelta(milliseconds=10)),
            "event_type": "record.validated",
            "payload": {
                "status": "rejected" if reasons else "valid",
                "phase": phase,
                "late": False,
                "not_enterable": "not_enterable" in reasons,
                "reasons": [_reason(r) for r in reasons],
                "warnings": [],
                "record": record,
            },
        }
        yield topics.RECORD_VALIDATED, key, dump(validated, ensure_ascii=False).encode()
        if reasons:
            continue
        if truth["duplicate_kind"] == "exact":
            status, codes = "rejected", ["duplicate_exact"]
        elif truth["final_status"] == "duplicate_suspected":
            status, codes = "duplicate_suspected", []
        else:
            status, codes = "accepted", []
        deduplicated = {
            **_envelope(record_id, unit, "d", at + timedelta(milliseconds=20)),
            "event_type": "record.deduplicated",
            "payload": {"status": status, "phase": phase, "candidates": [],
                        "reasons": [_reason(c) for c in codes], "record": record},
        }  # fmt: skip
        yield topics.RECORD_DEDUPLICATED, key, dump(deduplicated, ensure_ascii=False).encode()
        if status != "accepted":
            continue
        exported = {
            **_envelope(record_id, unit, "x", at + timedelta(milliseconds=30)),
            "event_type": "record.exported",
            "payload": {"status": "exported", "phase": phase, "national_id": f"VN-{index}",
                        "attempts": 1, "reasons": []},
        }  # fmt: skip
        yield topics.RECORD_EXPORTED, key, dump(exported).encode()


async def produce(bootstrap: str, events: Iterator[tuple[str, bytes, bytes]]) -> int:
    """Publish (topic, key, value) triples with acks=all; return how many."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=1024 * 1024,
        compression_type=None,
    )  # fmt: skip
    await producer.start()
    count = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for topic, key, value in events:
            pending.append(await producer.send(topic, value, key=key))
            count += 1
            if len(pending) >= 20000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count


async def end_offsets(bootstrap: str) -> dict[Any, int]:
    """End offset of every partition of the lifecycle topics."""
    partitions = await topic_partitions(bootstrap, topics.RECORD_TOPICS)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group: str) -> dict[Any, int]:
    """A consumer group's committed offsets."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {tp: m.offset for tp, m in (await admin.list_consumer_group_offsets(group)).items()}
    finally:
        await admin.close()


async def commit_at_end(bootstrap: str, group: str) -> None:
    """Put a consumer group at the end of the lifecycle topics (the service starts idle)."""
    ends = await end_offsets(bootstrap)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(ends))
        await consumer.commit({tp: off for tp, off in ends.items()})
    finally:
        await consumer.stop()


class Infra:
    """Kafka and the store for the benchmark (started here unless given)."""

    def __init__(self, home: Path, bootstrap: str | None, mongodb_url: str | None) -> None:
        self.home = home
        self.bootstrap = bootstrap or ""
        self.mongodb_url = mongodb_url or ""
        self.servers: list[Any] = []

    async def start(self) -> None:
        """Start what was not given and create the topics."""
        if not self.bootstrap:
            server = kafka.choose_broker(
                "auto", self.home / "kafka", procs.free_port(), procs.free_port(), echo=say
            )
            if isinstance(server, kafka.KafkaServer):
                server.heap_mb = 1024
            server.start(self.home / "kafka.log")
            self.servers.append(server)
            await server.wait_ready(180)
            self.bootstrap = server.bootstrap
            say(f"{server.kind} {server.version} on {self.bootstrap}")
        if not self.mongodb_url:
            store = mongo.SecantusServer(
                self.home / "secantus", port=procs.free_port(), cache_size="2G"
            )
            store.start(self.home / "secantus.log")
            self.servers.append(store)
            await store.wait_ready(120)
            self.mongodb_url = store.url
            say(f"SecantusDB on {self.mongodb_url}")
        await ensure_topics(self.bootstrap, load_topics(), with_configs=True)

    def stop(self) -> None:
        """Stop what was started."""
        for server in reversed(self.servers):
            server.stop()


def start_service(infra: Infra, database: str, group: str, port: int) -> int:
    """Start the reporting service as its own process; return its pid."""
    env = {
        "HOTICH_KAFKA_BOOTSTRAP": infra.bootstrap,
        "HOTICH_MONGODB_URL": infra.mongodb_url,
        "HOTICH_JWT_SECRET": SECRET,
        "HOTICH_REPORTING_MONGODB_DATABASE": database,
        "HOTICH_REPORTING_GROUP_ID": group,
        "HOTICH_REPORTING_HTTP_PORT": str(port),
        "HOTICH_REPORTING_PUBLISH_PROGRESS": "false",
        "HOTICH_REPORTING_LOG_LEVEL": "WARNING",
        "HOTICH_REPORTING_TODAY": "2020-07-20",
    }
    return procs.start(
        [sys.executable, "-m", "hotich_reporting"],
        log_path=infra.home / f"reporting-{group}.log",
        env=env,
    )


async def wait_ready(port: int) -> None:
    """Wait until the service answers /health/ready."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

        async def ready() -> bool:
            try:
                return (await client.get("/health/ready")).status_code == 200
            except httpx.HTTPError:
                return False

        await procs.wait_until(ready, within=120, what="reporting")


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds a process used so far (Linux /proc), or None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


TUNING = (
    "HOTICH_REPORTING_CONSUMER_MAX_RECORDS",
    "HOTICH_REPORTING_CONSUMER_ALIGN_MS",
    "HOTICH_REPORTING_CACHED_STATES",
)
"""The service's tuning variables the benchmark passes on from its own environment."""


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident set size of a process (VmHWM), in MB, or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


async def live_part(infra: Infra, records: int) -> dict[str, Any]:
    """Time the service draining the topics' backlog."""
    say(f"live: waiting for the reporting service to drain {records:,} records' events")
    ends = await end_offsets(infra.bootstrap)
    total = sum(ends.values())
    database, group, port = (
        f"bench_live_{uuid.uuid4().hex[:6]}",
        f"bench-live-{uuid.uuid4().hex[:6]}",
        procs.free_port(),
    )
    started = time.perf_counter()
    pid = start_service(infra, database, group, port)
    try:
        await wait_ready(port)
        ready_at = time.perf_counter()
        store_pid = next(
            (s.pid for s in infra.servers if isinstance(s, mongo.SecantusServer)), None
        )
        cpu_at_start = (cpu_seconds(pid), cpu_seconds(store_pid))
        samples: list[tuple[float, int]] = []
        while True:
            done = await committed(infra.bootstrap, group)
            consumed = sum(min(done.get(tp, 0), end) for tp, end in ends.items())
            samples.append((time.perf_counter(), consumed))
            if consumed >= total:
                break
            await asyncio.sleep(1.0)
        finished = time.perf_counter()
        cpu_at_end = (cpu_seconds(pid), cpu_seconds(store_pid))
        rss_peak = peak_rss_mb(pid)
    finally:
        procs.stop(pid)
    # steady rate: between 10% and 90% of the backlog
    low = next(t for t, c in samples if c >= 0.1 * total)
    high = next(t for t, c in samples if c >= 0.9 * total)
    steady = 0.8 * total / (high - low) if high > low else None
    seconds = finished - ready_at
    result = {
        "records": records,
        "events": total,
        "seconds_from_ready": round(seconds, 1),
        "startup_seconds": round(ready_at - started, 1),
        "events_per_s": round(total / seconds),
        "records_per_s": round(records / seconds),
        "steady_events_per_s": round(steady) if steady else None,
        "steady_records_per_s": round(steady * records / total) if steady else None,
        "database": database,
        "service_rss_peak_mb": rss_peak,
        "settings": {k: os.environ[k] for k in TUNING if k in os.environ},
    }
    # Where the time goes: CPU seconds of the service and of the store while draining.
    for name, start, end in zip(("service", "store"), cpu_at_start, cpu_at_end, strict=True):
        if start is not None and end is not None:
            result[f"{name}_cpu_seconds"] = round(end - start, 1)
    say(f"live: {result}")
    return result


async def rebuild_part(infra: Infra, into: str) -> dict[str, Any]:
    """Time a rebuild of every event into ``into``."""
    client = runtime_mongo.make_client(infra.mongodb_url, app_name="bench")
    try:
        stats = ReplayStats()
        started = time.perf_counter()
        result = await rebuild(
            replay(infra.bootstrap, stats), MongoProjection(client, client[into])
        )
        seconds = time.perf_counter() - started
    finally:
        client.close()
    out = {
        "records": result.records,
        "events": result.events,
        "undecodable": stats.undecodable,
        "read_and_fold_seconds": round(result.read_seconds, 1),
        "bulk_load_seconds": round(result.write_seconds, 1),
        "seconds": round(seconds, 1),
        "records_per_s": round(result.records / seconds),
        "database": into,
    }
    say(f"rebuild: {out}")
    return out


async def compare_part(infra: Infra, first: str, second: str) -> list[str]:
    """Differences between two projection databases."""
    client = runtime_mongo.make_client(infra.mongodb_url, app_name="bench")
    try:
        return await compare(
            MongoProjection(client, client[first]), MongoProjection(client, client[second])
        )
    finally:
        client.close()


def survey_csv(config: GenerationConfig) -> bytes:
    """The survey baseline of the generated set, as CSV."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SURVEY_COLUMNS)
    writer.writerows(row.as_csv_row() for row in survey_rows(config))
    return buffer.getvalue().encode()


def _label(path: str) -> str:
    path = path.split("?")[0]
    return "/v1/reports/books/{key}/gaps" if path.endswith("/gaps") else path


def _summary(timings: dict[str, list[float]]) -> dict[str, Any]:
    every = sorted(t for ts in timings.values() for t in ts)
    if not every:
        return {"requests": 0}

    def pct(values: list[float], q: float) -> float:
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1)

    return {
        "requests": len(every),
        "p50_ms": pct(every, 0.50),
        "p95_ms": pct(every, 0.95),
        "p99_ms": pct(every, 0.99),
        "max_ms": round(1000 * every[-1], 1),
        "mean_ms": round(1000 * statistics.fmean(every), 1),
        "by_endpoint_p99_ms": {k: pct(sorted(v), 0.99) for k, v in sorted(timings.items())},
    }


async def _timed(client: httpx.AsyncClient, path: str, timings: dict[str, list[float]]) -> None:
    t0 = time.perf_counter()
    response = await client.get(path)
    timings.setdefault(_label(path), []).append(time.perf_counter() - t0)
    assert response.status_code == 200, path


async def query_part(
    infra: Infra, database: str, config: GenerationConfig, requests: int, load_records: int
) -> dict[str, Any]:
    """Time report requests over HTTP on the rebuilt projection.

    Three regimes: idle (the service's caches warm), the first request of each kind
    after the projection changed (caches cold), and while the service ingests the
    events of ``load_records`` more records.
    """
    group = f"bench-query-{uuid.uuid4().hex[:6]}"
    await commit_at_end(infra.bootstrap, group)
    port = procs.free_port()
    pid = start_service(infra, database, group, port)
    token = issue_token(
        Principal("bench", "72", Role.DEPARTMENT_OFFICER), SECRET, timedelta(hours=2)
    )
    out: dict[str, Any] = {}
    try:
        await wait_ready(port)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ) as client:
            started = time.perf_counter()
            response = await client.post(
                "/v1/survey", content=survey_csv(config), headers={"Content-Type": "text/csv"}
            )
            assert response.status_code == 201, response.text
            out["survey_import_seconds"] = round(time.perf_counter() - started, 1)
            say(
                f"query: survey of {response.json()['books']:,} books in {out['survey_import_seconds']} s"
            )
            paths: list[str] = []
            for phase in ("1", "2", "3", "migration", "all"):
                paths += [
                    f"/v1/reports/progress?phase={phase}",
                    f"/v1/reports/progress?phase={phase}&unit_code=705",
                    f"/v1/reports/progress?phase={phase}&unit_code=25459",
                    f"/v1/progress?phase={phase}",
                ]
            paths += [
                "/v1/reports/units/25459/books",
                "/v1/reports/cost?phase=all",
                "/v1/reports/deadlines",
            ]
            books = (await client.get("/v1/reports/units/25489/books")).json()["books"]
            paths += [f"/v1/reports/books/{b['book_key']}/gaps" for b in books[:5]]
            for path in paths:  # warm up
                await _timed(client, path, {})
            idle: dict[str, list[float]] = {}
            for n in range(requests):
                await _timed(client, paths[n % len(paths)], idle)
            out["idle"] = _summary(idle)
            say(f"query idle: {out['idle']}")

            # Cold: one more record, applied; then the first request of each kind.
            extra = GenerationConfig(
                seed=config.seed + 1, total=max(load_records, 100), province_level=0, units=("703",)
            )
            events = list(lifecycle_events(extra, 0, extra.total))
            cold: dict[str, list[float]] = {}
            for i in range(5):
                before = sum((await committed(infra.bootstrap, group)).values())
                await produce(infra.bootstrap, iter(events[i : i + 1]))
                while True:
                    if sum((await committed(infra.bootstrap, group)).values()) > before:
                        break
                    await asyncio.sleep(0.05)
                for path in paths:
                    await _timed(client, path, cold)
            out["cold"] = _summary(cold)
            say(f"query cold: {out['cold']}")

            # Under load: the service ingests while it answers.
            ends_before = sum((await end_offsets(infra.bootstrap)).values())
            producing = asyncio.create_task(produce(infra.bootstrap, iter(events[5:])))
            loaded: dict[str, list[float]] = {}
            target = ends_before + len(events) - 5
            n = 0
            t_load = time.perf_counter()
            while True:
                await _timed(client, paths[n % len(paths)], loaded)
                n += 1
                if (
                    n % 20 == 0
                    and producing.done()
                    and sum((await committed(infra.bootstrap, group)).values()) >= target
                ):
                    break
            await producing
            out["under_load"] = _summary(loaded)
            out["under_load"]["ingested_records"] = extra.total
            out["under_load"]["seconds"] = round(time.perf_counter() - t_load, 1)
            say(f"query under load: {out['under_load']}")
            totals = (await client.get("/v1/reports/progress?phase=all")).json()["totals"]
            out["province_totals"] = {
                k: totals[k] for k in ("surveyed", "entered", "accepted", "rejected", "exported")
            }
    finally:
        procs.stop(pid)
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Run the parts asked for; return the figures."""
    home = Path(tempfile.mkdtemp(prefix="reporting-bench-"))
    infra = Infra(home, args.kafka, args.mongodb)
    config = GenerationConfig(
        seed=args.seed, total=args.records, province_level=min(22668, args.records // 60)
    )
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(),
        },
        "records": args.records,
        "goals": {"live_records_per_s": 2300, "rebuild_seconds_1366849": 300, "query_p99_ms": 100},
    }
    try:
        await infra.start()
        live = min(args.live_records, args.records)
        started = time.perf_counter()
        produced = await produce(infra.bootstrap, lifecycle_events(config, 0, live))
        say(
            f"published {produced:,} events of {live:,} records in {time.perf_counter() - started:.0f} s"
        )
        if not args.skip_live and live:
            results["live"] = await live_part(infra, live)
            check = await rebuild_part(infra, f"bench_check_{uuid.uuid4().hex[:6]}")
            differences = await compare_part(infra, results["live"]["database"], check["database"])
            results["live"]["rebuild_equals_live"] = not differences
            results["live"]["differences"] = differences[:5]
            say(
                f"live vs rebuild of the same events: {'identical' if not differences else differences[:5]}"
            )
        started = time.perf_counter()
        produced = await produce(infra.bootstrap, lifecycle_events(config, live, args.records))
        say(f"published {produced:,} more events in {time.perf_counter() - started:.0f} s")
        results["published_events"] = sum((await end_offsets(infra.bootstrap)).values())
        if not args.skip_rebuild:
            results["rebuild"] = await rebuild_part(infra, "bench_rebuild")
            if not args.skip_query:
                results["query"] = await query_part(
                    infra, "bench_rebuild", config, args.requests, args.load_records
                )
        results["machine"]["load_average_at_end"] = os.getloadavg()
    finally:
        if not args.keep:
            infra.stop()
        else:
            say(f"kept {home}: Kafka {infra.bootstrap}, store {infra.mongodb_url}")
    return results


def main() -> None:
    """Parse the arguments, run, write the results."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=PLAN_TOTAL)
    parser.add_argument("--live-records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--load-records", type=int, default=10000, help="Records ingested while querying."
    )
    parser.add_argument("--seed", type=int, default=2547)
    parser.add_argument("--kafka")
    parser.add_argument("--mongodb")
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--skip-query", action="store_true")
    parser.add_argument("--keep", action="store_true", help="Leave Kafka and the store running.")
    parser.add_argument(
        "--output", default=str(Path(__file__).parent / "results" / "reporting.json")
    )
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

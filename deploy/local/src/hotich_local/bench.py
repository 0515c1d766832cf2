"""``hotich bench``: the end-to-end benchmark of the whole pipeline, and its bare-hops ceiling.

What it does, in order:

1. **Stack.** Uses the stack running in ``--home`` if there is one, else starts a fresh
   one in a temporary directory (free ports) and stops it at the end.
2. **Workload.** ``hotich generate``'s generator (seed ``--seed``, ``--records`` items,
   no province-level books, no wrong-entering-unit noise: see :func:`generation_config`)
   with its ground truth. One pass counts what the pipeline must make of the items
   (created, refused as malformed, exported, rejected, suspected duplicates) and the
   units that enter them; a clerk account per unit (a migration operator for migration
   records) is created with :mod:`hotich_local.accounts` and logged in through
   ``POST /v1/auth/token``, and a Department officer account reads reporting.
3. **Pipeline run.** ``--bulk-clients`` clients post the items in batches of
   ``--batch-size`` to ``POST /v1/records/batch`` (one unit's records per batch, each
   with its own ``Idempotency-Key``), while ``--interactive-clients`` clerks post up to
   ``--interactive-share`` of them one by one with ``POST /v1/records`` (what they have
   not taken when the bulk is done goes in batches: their pace does not hold the run). Sample records (every interactive one up
   to ``--max-samples``, and the first of every ``--sample-every``-th batch) are polled
   through ``GET /v1/records/{id}``: post → 202, → ``accepted``, → ``exported``. Every
   second the national sandbox's record count and reporting's status counts are read;
   every ``--interval`` seconds the consumer groups' lag (end offsets − committed
   offsets, aiokafka admin) and CPU and RSS of every process (``/proc``). The run ends
   when the sandbox holds and reporting counts every expected record.
4. **Baseline** (run first, on the idle stack). The same broker and store, the same
   number of processes and hops, the same records and batches, no business logic
   (:mod:`hotich_local.bench_hops`).
5. **Results.** The correctness check (intake's answers, the sandbox and reporting
   against the ground truth, in counts and record by record: :func:`per_record`), a table on stdout, ``--out`` (JSON) and ``--plot`` (PNG:
   throughput, lag per consumer group and CPU over time).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from hotich_contracts import topics
from hotich_local import accounts, bench_hops, bench_review, stack
from hotich_local.infra import procs
from hotich_local.synth import PLAN_TOTAL, GenerationConfig, generate
from hotich_local.synth.model import NoiseRates, Truth

Echo = Callable[[str], None]

PASSWORD = "bench-password"
SANDBOX_KEY = {"X-API-Key": "sandbox-key"}
REPORTING_GROUP = "hotich-reporting"
PIPELINE_GROUPS: dict[str, tuple[str, ...]] = {
    # consumer group -> the topics it reads (the services' defaults)
    "hotich-validation": (topics.RECORD_ENTERED,),
    "hotich-dedup": (topics.RECORD_VALIDATED,),
    "hotich-export": (topics.RECORD_DEDUPLICATED,),
    REPORTING_GROUP: topics.RECORD_TOPICS,
    "hotich-intake-status": (
        topics.RECORD_VALIDATED,
        topics.RECORD_DEDUPLICATED,
        topics.RECORD_EXPORTED,
    ),
}
STAGES = ("hotich-validation", "hotich-dedup", "hotich-export", REPORTING_GROUP)
"""The pipeline's stages after intake, in order (intake's status view is not a stage)."""
TERMINAL = frozenset({"exported", "rejected", "duplicate_suspected", "export_failed"})
ACCEPTED_OR_LATER = frozenset({"accepted", "exported", "export_failed"})
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class BenchOptions:
    """What ``hotich bench`` runs."""

    records: int = 30_000
    seed: int = 2547
    bulk_clients: int = 2
    batch_size: int = 500
    interactive_clients: int = 4
    interactive_share: float = 0.02
    think_s: float = 0.2
    max_samples: int = 300
    sample_every: int = 10
    baseline: bool = True
    baseline_records: int | None = None
    interval_s: float = 2.0
    timeout_s: float = 3600.0
    settle_s: float = 30.0
    home: str | None = None
    stores: int = 1
    review: bool = True
    review_timeout_s: float = 900.0
    out: Path = Path("bench/results/e2e.json")
    plot: Path | None = Path("bench/results/e2e.png")


def say(message: str) -> None:
    """Progress on stderr, timestamped."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- workload


def generation_config(records: int, seed: int) -> GenerationConfig:
    """The generator's settings for the benchmark.

    The generator labels every item as if it were entered inside its phase's window
    (2019-2021). Validation judges the day of entry it is given (the event's
    ``occurred_at``: today), and the unit registry ends every Tây Ninh unit on
    2025-06-30 (the merger with Long An). Two kinds of item have a different correct
    outcome today than on their labelled day: province-level books (the Department,
    code 72, is succeeded by code 80) and wrong-entering-unit noise (a defunct
    authority's registers may be entered by the unit storing them). The benchmark
    leaves both out, so the ground truth holds for an entry made today.
    """
    return GenerationConfig(
        seed=seed, total=records, province_level=0, rates=NoiseRates(wrong_entering_unit=0)
    )


@dataclass
class Expected:
    """What the pipeline must make of the generated items (from their ground truth)."""

    items: int = 0
    created: int = 0
    invalid: int = 0
    exported: int = 0
    rejected: int = 0
    duplicate_suspected: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    senders: set[tuple[str, str]] = field(default_factory=set)
    """(unit, source) pairs that post records."""
    labels: list[str | None] = field(default_factory=lambda: [None])
    """Each item's expected final outcome (:func:`truth_label`), by its truth id's
    sequence number (:func:`truth_seq`); None for a malformed item."""
    group_of: dict[int, int] = field(default_factory=dict)
    """Sequence number -> that of the first record of its duplicate group (the records
    the truth says are one entry keyed again or a probable duplicate), for the items in
    one; see :func:`per_record`."""


@dataclass
class Planned:
    """One item to post."""

    unit: str
    source: str
    body: dict[str, Any]
    key: str
    seq: int
    """The sequence number of its truth id (:func:`truth_seq`)."""
    malformed: bool
    interactive: bool


def truth_seq(truth_id: str) -> int:
    """The generator's sequence number in a truth id (``syn2547-00000042`` -> 42)."""
    return int(truth_id.rsplit("-", 1)[1])


def truth_label(truth: Truth) -> str:
    """What the pipeline must make of an item, as one label.

    ``exported``, ``duplicate_suspected`` or ``rejected:<the truth's first reason>``.
    """
    status = truth["final_status"]
    if status == "accepted":
        return "exported"
    if status == "rejected":
        reasons = truth.get("reasons") or ()
        return f"rejected:{reasons[0]}" if reasons else "rejected"
    return str(status)


def actual_label(status: str, reasons: list[str], expected: str | None) -> str:
    """A record's final state in reporting as a label comparable to :func:`truth_label`.

    A rejection counts as the expected one when that reason is among its reasons.
    """
    if status != "rejected":
        return status
    if (
        expected is not None
        and expected.startswith("rejected:")
        and expected.split(":", 1)[1] in reasons
    ):
        return expected
    return f"rejected:{reasons[0]}" if reasons else "rejected"


def role_for(source: str) -> str:
    """The role that enters records of ``source``."""
    return "migration_operator" if source == "migration" else "clerk"


def plan_items(opts: BenchOptions, run: str, total: int) -> Iterator[Planned]:
    """The items in the generator's order, marked for the bulk or the interactive clients."""
    every = max(1, round(1 / opts.interactive_share)) if opts.interactive_share > 0 else 0
    for index, item in enumerate(generate(generation_config(total, opts.seed))):
        truth = item["truth"]
        record = dict(item["record"])
        if record.get("book_number"):
            # Register coordinates unique to this run: a second run on the same stack is
            # not rejected as exact duplicates of the first.
            record["book_number"] = f"{record['book_number']}-{run}"
        yield Planned(
            unit=truth["entering_unit_code"],
            source=truth["source"],
            body=record,
            key=f"bench-{run}-{truth['id']}",
            seq=truth_seq(truth["id"]),
            malformed=truth["malformed"],
            interactive=bool(every) and index % every == 0,
        )


def expected_outcomes(opts: BenchOptions) -> Expected:
    """Count the ground truth of the items the run will post."""
    expected = Expected()
    for item in generate(generation_config(opts.records, opts.seed)):
        truth = item["truth"]
        expected.items += 1
        expected.senders.add((truth["entering_unit_code"], truth["source"]))
        expected.by_source[truth["source"]] += 1
        seq = truth_seq(truth["id"])
        expected.labels.extend([None] * (seq + 1 - len(expected.labels)))
        if truth["duplicate_of"]:
            original = truth_seq(truth["duplicate_of"])
            root = expected.group_of.setdefault(original, original)
            expected.group_of[seq] = root
        if truth["malformed"]:
            expected.invalid += 1
            continue
        expected.labels[seq] = truth_label(truth)
        expected.created += 1
        status = truth["final_status"]
        if status == "accepted":
            expected.exported += 1
        elif status == "rejected":
            expected.rejected += 1
        else:
            expected.duplicate_suspected += 1
    return expected


# --------------------------------------------------------------------------- sampling


def proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (None when it is gone).

    ``[0]`` is the state letter, ``[11]`` and ``[12]`` the user and system clock ticks.
    """
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (None when it is gone)."""
    fields = proc_stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MiB, from ``/proc/<pid>/status``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


class ProcSampler:
    """CPU and RSS of named processes over time."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = dict(pids)
        self.rows: list[dict[str, Any]] = []

    def sample(self, t: float) -> None:
        """Record every process's cumulative CPU seconds and RSS at ``t``."""
        self.rows.append(
            {
                "t": round(t, 2),
                "cpu_s": {n: cpu_seconds(p) for n, p in self.pids.items()},
                "rss_mb": {n: rss_mb(p) for n, p in self.pids.items()},
            }
        )

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per process: CPU seconds used, mean cores, peak and last RSS."""
        if len(self.rows) < 2:
            return {}
        first, last = self.rows[0], self.rows[-1]
        span = max(last["t"] - first["t"], 1e-9)
        out = {}
        for name in self.pids:
            start, end = first["cpu_s"].get(name), last["cpu_s"].get(name)
            if end is None:  # gone: its last known figure
                end = next(
                    (r["cpu_s"][name] for r in reversed(self.rows) if r["cpu_s"].get(name)), start
                )
            used = (end or 0.0) - (start or 0.0)
            rss = [r["rss_mb"][name] for r in self.rows if r["rss_mb"].get(name) is not None]
            out[name] = {
                "cpu_s": round(used, 1),
                "cores_mean": round(used / span, 2),
                "rss_peak_mb": max(rss) if rss else None,
                "rss_end_mb": rss[-1] if rss else None,
            }
        return out

    def cores_timeline(self) -> list[dict[str, Any]]:
        """Cores each process used between consecutive samples, and its RSS at the second."""
        out = []
        for before, after in zip(self.rows, self.rows[1:], strict=False):
            dt = max(after["t"] - before["t"], 1e-9)
            out.append(
                {
                    "t": after["t"],
                    "cores": {
                        n: round(((after["cpu_s"][n] or 0) - (before["cpu_s"][n] or 0)) / dt, 2)
                        for n in self.pids
                        if after["cpu_s"].get(n) is not None and before["cpu_s"].get(n) is not None
                    },
                    "rss_mb": {n: v for n, v in after["rss_mb"].items() if v is not None},
                }
            )
        return out


class LagSampler:
    """Committed offsets against end offsets of consumer groups, with long-lived clients."""

    def __init__(self, bootstrap: str, groups: dict[str, tuple[str, ...]]) -> None:
        self.bootstrap = bootstrap
        self.groups = groups
        self.rows: list[dict[str, Any]] = []
        self._admin: Any = None
        self._consumer: Any = None
        self._partitions: dict[str, list[Any]] = {}

    async def start(self) -> None:
        """Connect and learn the topics' partitions."""
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient
        from aiokafka.structs import TopicPartition

        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap, request_timeout_ms=15_000
        )
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, request_timeout_ms=15_000
        )
        await self._consumer.start()
        names = sorted({t for ts in self.groups.values() for t in ts})
        for described in await self._admin.describe_topics(names):
            self._partitions[described["topic"]] = [
                TopicPartition(described["topic"], int(p["partition"]))
                for p in described.get("partitions") or []
            ]

    async def stop(self) -> None:
        """Close the clients."""
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()

    async def read(self) -> dict[str, dict[str, int]]:
        """Per group: ``end``, ``committed`` (sums over its topics' partitions) and ``lag``."""
        every = [tp for ps in self._partitions.values() for tp in ps]
        ends = await self._consumer.end_offsets(every) if every else {}
        out: dict[str, dict[str, int]] = {}
        for group, names in self.groups.items():
            try:
                offsets = await self._admin.list_consumer_group_offsets(group)
            except Exception:  # noqa: BLE001 - a group that does not exist yet
                offsets = {}
            committed = {tp: int(meta.offset) for tp, meta in offsets.items()}
            tps = [tp for name in names for tp in self._partitions.get(name, [])]
            end = sum(int(ends.get(tp, 0)) for tp in tps)
            done = sum(max(committed.get(tp, 0), 0) for tp in tps)
            out[group] = {"end": end, "committed": done, "lag": max(end - done, 0)}
        return out

    async def sample(self, t: float) -> dict[str, dict[str, int]]:
        """Read and record at ``t``."""
        found = await self.read()
        self.rows.append({"t": round(t, 2), "groups": found})
        return found


def percentiles(values: list[float], scale: float = 1.0, digits: int = 3) -> dict[str, Any]:
    """n, p50, p95, p99, max of ``values`` × ``scale``."""
    if not values:
        return {"n": 0}
    ordered = sorted(v * scale for v in values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], digits)

    return {
        "n": len(ordered),
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(ordered[-1], digits),
        "mean": round(statistics.fmean(ordered), digits),
    }


def stage_figures(
    rows: list[dict[str, Any]], records: int, groups: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """Per consumer group, from the lag samples: peak lag, rate while behind, drain time.

    ``records_per_s_while_behind`` is the group's commit rate over the intervals that
    started with lag, in records (events divided by the events per record its topics
    carried in the run): what the stage does when it has work, whatever feeds it. The
    slowest stage has the lowest.
    """
    out: dict[str, dict[str, Any]] = {}
    if len(rows) < 2:
        return out
    for group in groups:
        series = [(r["t"], r["groups"][group]) for r in rows if group in r["groups"]]
        if len(series) < 2:
            continue
        events = series[-1][1]["end"] - series[0][1]["end"]
        per_record = events / records if records else 0.0
        busy_t = busy_events = 0.0
        for (t0, a), (t1, b) in zip(series, series[1:], strict=False):
            if a["lag"] > 0:
                busy_t += t1 - t0
                busy_events += b["committed"] - a["committed"]
        peak_t, peak = max(((t, s["lag"]) for t, s in series), key=lambda x: x[1])
        drained = next((t for t, s in series if t >= peak_t and s["lag"] == 0 and peak > 0), None)
        rate = busy_events / busy_t if busy_t else None
        out[group] = {
            "events": events,
            "events_per_record": round(per_record, 2),
            "peak_lag": peak,
            "peak_lag_at_s": peak_t,
            "drained_at_s": drained,
            "busy_s": round(busy_t, 1),
            "events_per_s_while_behind": round(rate, 1) if rate is not None else None,
            "records_per_s_while_behind": (
                round(rate / per_record, 1) if rate is not None and per_record else None
            ),
        }
    return out


# --------------------------------------------------------------------------- clients


class Session:
    """Tokens per (unit, source) and the HTTP clients of one run."""

    def __init__(self, state: stack.StackState, run: str) -> None:
        self.state = state
        self.run = run
        self.tokens: dict[tuple[str, str], str] = {}
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.intake = httpx.AsyncClient(base_url=state.urls["intake"], timeout=300, limits=limits)
        self.reporting = httpx.AsyncClient(base_url=state.urls["reporting"], timeout=60)
        self.sandbox = httpx.AsyncClient(
            base_url=state.urls["national_sandbox"], timeout=60, headers=SANDBOX_KEY
        )
        self.dedup = httpx.AsyncClient(base_url=state.urls["dedup"], timeout=120)
        self.officer = ""

    async def close(self) -> None:
        """Close the clients."""
        for client in (self.intake, self.reporting, self.sandbox, self.dedup):
            await client.aclose()

    async def login(self, username: str) -> str:
        """A bearer token from intake's login endpoint."""
        response = await self.intake.post(
            "/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    async def prepare(self, senders: set[tuple[str, str]], echo: Echo) -> None:
        """Create and log in an account per sender, and a Department officer."""
        database = self.state.intake_database
        url = self.state.mongodb_url
        officer = f"bench-{self.run}-dept"
        await accounts.create(url, officer, PASSWORD, "72", "department_officer", database=database)
        self.officer = await self.login(officer)
        started = time.monotonic()
        for unit, source in sorted(senders):
            username = f"bench-{self.run}-{unit}-{source}"
            await accounts.create(
                url, username, PASSWORD, unit, role_for(source), database=database
            )
            self.tokens[(unit, source)] = await self.login(username)
        echo(f"{len(senders)} accounts created and logged in in {time.monotonic() - started:.0f}s")

    def auth(self, unit: str, source: str) -> dict[str, str]:
        """Authorization header of the sender of (unit, source)."""
        return {"Authorization": f"Bearer {self.tokens[(unit, source)]}"}

    async def reporting_counts(self) -> dict[str, int]:
        """Reporting's current status counts over every phase and unit (``GET /v1/progress``)."""
        response = await self.reporting.get(
            "/v1/progress",
            params={"phase": "all"},
            headers={"Authorization": f"Bearer {self.officer}"},
        )
        response.raise_for_status()
        totals: Counter[str] = Counter()
        for row in response.json()["by_phase"].values():
            totals.update({k: int(v) for k, v in row.items()})
        return dict(totals)

    async def sandbox_counts(self) -> dict[str, int]:
        """The national sandbox's records and duplicated sources."""
        response = await self.sandbox.get("/v1/stats")
        response.raise_for_status()
        stats = response.json()
        return {
            "records": int(stats["records"]),
            "duplicate_sources": int(stats["duplicate_sources"]),
        }


async def send(
    client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    """POST, retrying 429 and 503 after their Retry-After (the clients' documented duty)."""
    for _ in range(120):
        response = await client.post(path, json=body, headers=headers)
        if response.status_code not in (429, 503):
            return response
        await asyncio.sleep(min(float(response.headers.get("Retry-After", "1")), 5.0))
    return response


@dataclass
class Sample:
    """A record whose progress is polled through intake's status view."""

    record_id: str
    kind: str
    unit: str
    source: str
    posted: float
    acked: float
    accepted: float | None = None
    done: float | None = None
    status: str = "received"
    next_poll: float = 0.0
    accepted_event: float | None = None
    """When dedup's ``accepted`` event for it was read from Kafka."""
    exported_event: float | None = None
    """When export's ``exported`` event for it was read from Kafka."""


@dataclass
class Progress:
    """What the clients have done so far."""

    outcomes: Counter[str] = field(default_factory=Counter)
    acked: int = 0
    first_post: float | None = None
    ingest_done: float | None = None
    ack_latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    samples: dict[str, Sample] = field(default_factory=dict)
    batches: int = 0
    errors: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    """Record id -> truth sequence number of every record intake created."""
    singles: int = 0
    single_sample_every: int = 1
    """Every n-th single POST is a sample: the samples spread over the whole run."""


async def dispatch(
    items: Iterator[Planned],
    batch_size: int,
    bulk: asyncio.Queue[tuple[str, str, list[Planned]] | None],
    interactive: asyncio.Queue[Planned | None] | None,
    bulk_clients: int,
    interactive_clients: int,
) -> None:
    """Group the items into one sender's batches (and the interactive share) for the clients."""
    buffers: dict[tuple[str, str], list[Planned]] = defaultdict(list)
    for n, item in enumerate(items):
        if item.interactive and interactive is not None:
            interactive.put_nowait(item)
        else:
            buffer = buffers[(item.unit, item.source)]
            buffer.append(item)
            if len(buffer) >= batch_size:
                await bulk.put((item.unit, item.source, buffer))
                buffers[(item.unit, item.source)] = []
        if n % 200 == 0:
            await asyncio.sleep(0)  # let the clients run between generated chunks
    for (unit, source), buffer in buffers.items():
        if buffer:
            await bulk.put((unit, source, buffer))
    for _ in range(bulk_clients):
        await bulk.put(None)
    if interactive is not None:
        for _ in range(interactive_clients):
            await interactive.put(None)


async def bulk_client(
    session: Session,
    queue: asyncio.Queue[tuple[str, str, list[Planned]] | None],
    progress: Progress,
    opts: BenchOptions,
    clock: Callable[[], float],
) -> None:
    """Post batches to ``POST /v1/records/batch`` until the queue says stop."""
    while (job := await queue.get()) is not None:
        unit, source, batch = job
        body = {"items": [{"record": p.body, "idempotency_key": p.key} for p in batch]}
        started = clock()
        if progress.first_post is None:
            progress.first_post = started
        response = await send(session.intake, "/v1/records/batch", body, session.auth(unit, source))
        acked = clock()
        if response.status_code != 200:
            progress.errors.append(f"batch: {response.status_code} {response.text[:200]}")
            progress.outcomes[f"http_{response.status_code}"] += len(batch)
            continue
        results = response.json()["results"]
        progress.batches += 1
        progress.ack_latency["batch"].append(acked - started)
        for result in results:
            progress.outcomes[result["outcome"]] += 1
            if result["outcome"] == "created":
                progress.created[result["record_id"]] = batch[result["index"]].seq
        progress.acked += sum(1 for r in results if r["outcome"] == "created")
        if progress.batches % opts.sample_every == 1:
            first = next((r for r in results if r["outcome"] == "created"), None)
            if first is not None:
                progress.samples[first["record_id"]] = Sample(
                    first["record_id"], "bulk", unit, source, started, acked
                )


async def interactive_client(
    session: Session,
    queue: asyncio.Queue[Planned | None],
    progress: Progress,
    opts: BenchOptions,
    clock: Callable[[], float],
) -> None:
    """A clerk posting one record at a time (``POST /v1/records``), with a pause between."""
    while (item := await queue.get()) is not None:
        started = clock()
        if progress.first_post is None:
            progress.first_post = started
        response = await send(
            session.intake,
            "/v1/records",
            item.body,
            {**session.auth(item.unit, item.source), "Idempotency-Key": item.key},
        )
        acked = clock()
        if response.status_code == 202:
            record_id = response.json()["record_id"]
            progress.created[record_id] = item.seq
            progress.outcomes["created"] += 1
            progress.acked += 1
            progress.ack_latency["single"].append(acked - started)
            progress.singles += 1
            if progress.singles % progress.single_sample_every == 0:
                progress.samples[record_id] = Sample(
                    record_id, "interactive", item.unit, item.source, started, acked
                )
        elif response.status_code == 422:
            progress.outcomes["invalid"] += 1
        else:
            progress.outcomes[f"http_{response.status_code}"] += 1
            progress.errors.append(f"single: {response.status_code} {response.text[:200]}")
        if opts.think_s:
            await asyncio.sleep(opts.think_s)


async def poll_samples(
    session: Session, progress: Progress, clock: Callable[[], float], stop: asyncio.Event
) -> None:
    """Follow the sample records in intake's view; each polled more rarely as it ages."""
    while not stop.is_set():
        now = clock()
        due = [
            s for s in progress.samples.values() if s.status not in TERMINAL and s.next_poll <= now
        ]
        for sample in due[:20]:
            response = await session.intake.get(
                f"/v1/records/{sample.record_id}", headers=session.auth(sample.unit, sample.source)
            )
            seen = clock()
            if response.status_code == 200:
                sample.status = response.json()["status"]
                if sample.status in ACCEPTED_OR_LATER and sample.accepted is None:
                    sample.accepted = seen
                if sample.status in TERMINAL:
                    sample.done = seen
            age = seen - sample.posted
            sample.next_poll = seen + min(max(0.1 * age, 0.2), 10.0)
        await asyncio.sleep(0.1)


async def watch_events(
    bootstrap: str,
    progress: Progress,
    clock: Callable[[], float],
    stop: asyncio.Event,
    ready: asyncio.Event,
) -> None:
    """Note when the sample records' ``accepted`` and ``exported`` events reach Kafka.

    The pipeline's own latency, independent of intake's status view (which is fed by a
    consumer group of its own and can trail the pipeline). Reads from the topics' ends
    as they were when the run started.
    """
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topics.RECORD_DEDUPLICATED,
        topics.RECORD_EXPORTED,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="latest",
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        await consumer.seek_to_end()
        for tp in consumer.assignment():
            await consumer.position(tp)
        ready.set()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            seen = clock()
            for messages in batches.values():
                for message in messages:
                    event = json.loads(message.value)
                    sample = progress.samples.get(event.get("record_id", ""))
                    if sample is None:
                        continue
                    status = event.get("payload", {}).get("status")
                    if message.topic == topics.RECORD_EXPORTED and status == "exported":
                        sample.exported_event = sample.exported_event or seen
                    elif status == "accepted":
                        sample.accepted_event = sample.accepted_event or seen
    finally:
        await consumer.stop()


# --------------------------------------------------------------------------- per record


PER_RECORD_EXAMPLES = 25
"""Mismatched records listed in the results, of each kind (expected → actual)."""


def reporting_database(state: stack.StackState) -> tuple[str, str]:
    """(store URL, database) of reporting's projection in ``state``'s stack."""
    url = state.mongodb_urls.get("reporting", state.mongodb_url)
    return url, stack.service_database(state, "reporting")


def sandbox_holdings(home: str, wanted: dict[str, int]) -> dict[str, int] | None:
    """How many records the sandbox holds for each of ``wanted``'s ids that it holds.

    Read from its SQLite file (read-only); None if the file is not there.
    """
    path = Path(home) / "data" / "national_sandbox.sqlite3"
    if not path.exists():
        return None
    import sqlite3

    held: dict[str, int] = {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT source_record_id, COUNT(*) FROM records"
            " WHERE source_record_id IS NOT NULL GROUP BY source_record_id"
        )
        for source_id, count in rows:
            if source_id in wanted:
                held[source_id] = int(count)
    finally:
        conn.close()
    return held


async def per_record(
    state: stack.StackState, expected: Expected, created: dict[str, int]
) -> dict[str, Any]:
    """Every created record's final state against its own ground truth.

    The counts of a run can agree while its records do not (a missed duplicate exported
    and a distinct record held for review cancel out). Here each record's status and
    reasons in reporting's projection are compared with what its truth says
    (:func:`truth_label`), and the sandbox must hold exactly the records reporting counts
    as exported, each once.

    Within a duplicate group the comparison is of the group's outcomes, not of who got
    which: the truth calls the first in the generator's order the original, but clients
    post concurrently, and when the copy arrives first it is the one exported and the
    original the one rejected as its duplicate: the same outcome for the register. Every
    other record is compared alone. ``matrix`` counts records by expected then actual
    label (within a group, its unmatched outcomes paired in order).
    """
    from motor.motor_asyncio import AsyncIOMotorClient

    url, database = reporting_database(state)
    actual: list[str | None] = [None] * len(expected.labels)
    found = 0
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(url)
    try:
        cursor = client[database]["records"].find({}, {"s": 1, "rs": 1}, batch_size=10_000)
        async for doc in cursor:
            seq = created.get(doc["_id"])
            if seq is None or seq >= len(actual):
                continue  # another run's record
            want = expected.labels[seq]
            actual[seq] = actual_label(str(doc.get("s")), list(doc.get("rs") or ()), want)
            found += 1
    finally:
        client.close()

    matrix: dict[str, Counter[str]] = defaultdict(Counter)
    examples: list[dict[str, Any]] = []
    shown: Counter[tuple[str, str]] = Counter()

    def example(want: str, got: str, **where: Any) -> None:
        # Up to PER_RECORD_EXAMPLES of each kind: a rare kind is not crowded out.
        if shown[want, got] < PER_RECORD_EXAMPLES:
            shown[want, got] += 1
            examples.append({**where, "expected": want, "actual": got})

    groups: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for record_id, seq in created.items():
        root = expected.group_of.get(seq)
        if root is not None:
            groups[root].append((seq, record_id))
            continue
        want, got = expected.labels[seq] or "unknown", actual[seq] or "missing"
        matrix[want][got] += 1
        if got != want:
            example(want, got, seq=seq, record_id=record_id)
    for members in groups.values():
        wants = Counter(expected.labels[seq] or "unknown" for seq, _ in members)
        gots = Counter(actual[seq] or "missing" for seq, _ in members)
        for label, n in (wants & gots).items():
            matrix[label][label] += n
        unmatched = sorted((wants - gots).elements()), sorted((gots - wants).elements())
        for want, got in zip(*unmatched, strict=True):
            matrix[want][got] += 1
            example(
                want,
                got,
                group=[record_id for _, record_id in sorted(members)],
                seqs=[seq for seq, _ in sorted(members)],
            )
    mismatched = sum(n for want, row in matrix.items() for got, n in row.items() if got != want)

    sandbox: dict[str, Any] = {"read": False}
    held = await asyncio.to_thread(sandbox_holdings, state.home, created)
    if held is not None:
        exported = {r for r, seq in created.items() if actual[seq] == "exported"}
        sandbox = {
            "read": True,
            "held": len(held),
            "missing": len(exported - held.keys()),
            "unexpected": len(held.keys() - exported),
            "held_twice": sum(1 for n in held.values() if n > 1),
        }
    missed = sum(
        row.get("exported", 0)
        for want, row in matrix.items()
        if want in ("duplicate_suspected", "rejected:duplicate_exact", bench_review.REVIEWED_LABEL)
    )
    return {
        "records": len(created),
        "found_in_reporting": found,
        "matching": len(created) - mismatched,
        "mismatched": mismatched,
        "duplicate_groups": len(groups),
        "distinct_held_as_suspected": matrix.get("exported", Counter()).get(
            "duplicate_suspected", 0
        ),
        "duplicates_exported": missed,
        "matrix": {want: dict(row) for want, row in sorted(matrix.items())},
        "sandbox": sandbox,
        "examples": examples,
    }


# --------------------------------------------------------------------------- the runs


async def department_review(
    session: Session,
    state: stack.StackState,
    expected: Expected,
    created: dict[str, int],
    before: dict[str, dict[str, int]],
    timeout_s: float,
    echo: Echo,
) -> dict[str, Any]:
    """The Department resolves every suspect of the run; then the checks after review.

    See :mod:`hotich_local.bench_review`. Not part of the timed run.
    """
    headers = {"Authorization": f"Bearer {session.officer}"}
    started = time.monotonic()
    listed = await bench_review.open_suspects(session.dedup, headers)
    verdicts = [
        v
        for item in listed
        if (v := bench_review.verdict(item, created, expected.group_of)) is not None
    ]
    distinct = sum(v.resolution == "distinct" for v in verdicts)
    echo(
        f"review: {len(verdicts):,} suspects of the run ({distinct} distinct by the truth) "
        f"listed in {time.monotonic() - started:.0f}s"
    )
    resolving = time.monotonic()
    outcome = await bench_review.resolve_all(session.dedup, headers, verdicts)
    resolve_s = time.monotonic() - resolving
    outcome["latency_ms"] = percentiles(outcome.pop("latencies_s"), 1000, 1)
    outcome.update(
        suspects=len(verdicts),
        distinct=distinct,
        duplicate=len(verdicts) - distinct,
        resolve_s=round(resolve_s, 1),
        resolutions_per_s=round(len(verdicts) / resolve_s, 1) if resolve_s > 0 else None,
    )
    echo(f"review: {outcome['answers']} in {resolve_s:.0f}s")

    want_rejected = expected.rejected + expected.duplicate_suspected

    async def counts() -> tuple[dict[str, int], dict[str, int]]:
        return (
            _delta(await session.reporting_counts(), before["reporting"]),
            _delta(await session.sandbox_counts(), before["sandbox"]),
        )

    def reached(value: tuple[dict[str, int], dict[str, int]]) -> bool:
        rep, sandbox = value
        return (
            rep.get("duplicate_suspected", 0) == 0
            and rep.get("exported", 0) == expected.exported
            and rep.get("rejected", 0) == want_rejected
            and sandbox.get("records", 0) == expected.exported
        )

    settled, (rep, sandbox) = await bench_review.wait_settled(
        counts, reached, timeout_s=timeout_s, quiet_s=REVIEW_SETTLE_S
    )
    outcome["settled"] = settled
    outcome["settle_s"] = round(time.monotonic() - resolving - resolve_s, 1)
    reviewed = replace(expected, labels=bench_review.reviewed_labels(expected.labels))
    records = await per_record(state, reviewed, created)
    echo(
        f"review: {'settled' if settled else 'NOT settled'}; per record "
        f"{records['matching']:,} of {records['records']:,} as their truth says after review"
    )
    rows = bench_review.review_checks(
        expected.exported, want_rejected, outcome, rep, sandbox, records
    )
    outcome["per_record"] = records
    outcome["counts"] = {"reporting": rep, "sandbox": sandbox}
    outcome.update(checked(rows))
    return outcome


REVIEW_SETTLE_S = 60.0
"""After the review, the wait ends when the counts have not moved for this long."""
FROZEN_FOR_CHECKS = ("validation", "dedup", "export")
"""The stages whose writes the end-of-run checks read: paused for them after a timeout."""
CATCH_UP_S = 180.0
"""How long reporting may take to read what the paused stages emitted before the checks."""


@asynccontextmanager
async def paused(
    pids: Sequence[int], settled: Callable[[], Awaitable[bool]], within: float
) -> AsyncIterator[bool]:
    """Stop ``pids`` (SIGSTOP) for the block, after waiting up to ``within`` s for ``settled``.

    A run stopped by its timeout goes on moving: checks reading reporting and then the
    sandbox would race the exports made between the two reads. Pausing the stages that
    write what they read, and letting reporting read what those stages already emitted,
    gives them one state. Yields whether ``settled`` came true; the processes are always
    resumed (SIGCONT) at the end of the block.
    """
    stopped: list[int] = []
    try:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        # A signal is delivered asynchronously: settle only once every one has stopped.
        for _ in range(1000):  # 10 s at most
            if all(map(_is_stopped, stopped)):
                break
            await asyncio.sleep(0.01)
        deadline = time.monotonic() + within
        ok = await settled()
        while not ok and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            ok = await settled()
        yield ok
    finally:
        for pid in stopped:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def _is_stopped(pid: int) -> bool:
    """Whether ``pid`` is stopped (state ``T`` in /proc), or gone."""
    fields = proc_stat(pid)
    return fields is None or fields[0] in ("T", "t", "Z", "X")


def stage_pids(state: stack.StackState, services: Sequence[str]) -> list[int]:
    """The pids of every instance of ``services`` in the stack."""
    names = [n for s in services for n in state.instances.get(s, [s])]
    return [state.pids[n] for n in names if n in state.pids]


@asynccontextmanager
async def a_stack(opts: BenchOptions, echo: Echo) -> AsyncIterator[tuple[stack.StackState, bool]]:
    """The running stack of ``--home``, or a fresh one started (and stopped) here."""
    if opts.home is not None:
        config = stack.StackConfig.load(opts.home)
        state = stack.read_state(config)
        if state is not None and all(procs.is_running(p) for p in state.pids.values()):
            echo(f"using the stack running in {state.home}")
            yield state, False
            return
        echo(f"no stack running in {config.home}: starting a fresh one")
    home = Path(tempfile.mkdtemp(prefix="hotich-bench-"))
    config = stack.StackConfig.load(str(home), free_ports=True)
    config.stores = opts.stores
    try:
        started = time.monotonic()
        state = await stack.up(config, echo=echo)
        echo(f"fresh stack in {home} healthy after {time.monotonic() - started:.0f}s")
        yield state, True
    finally:
        stack.down(config)
        shutil.rmtree(home, ignore_errors=True)


def _pipeline_done(
    expected: Expected, before: dict[str, Any], counts: dict[str, Any], progress: Progress
) -> bool:
    if progress.ingest_done is None:
        return False
    rep = _delta(counts["reporting"], before["reporting"])
    return (
        counts["sandbox"]["records"] - before["sandbox"]["records"] >= expected.exported
        and rep.get("total", 0) >= progress.outcomes["created"]
        and rep.get("exported", 0) >= expected.exported
        and rep.get("rejected", 0) >= expected.rejected
        and rep.get("duplicate_suspected", 0) >= expected.duplicate_suspected
    )


TERMINAL_COUNTS = ("exported", "rejected", "duplicate_suspected")


def records_finished(status: str, created: int, reporting_delta: dict[str, int]) -> int:
    """Records through the whole pipeline.

    Every one created if the run completed, else those reporting counts in a final
    state: a run that timed out or stalled is not credited with the records still waiting.
    """
    if status == "complete":
        return created
    return sum(max(0, reporting_delta.get(k, 0)) for k in TERMINAL_COUNTS)


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: int(after.get(k, 0)) - int(before.get(k, 0)) for k in set(after) | set(before)}


async def run_pipeline(
    opts: BenchOptions, state: stack.StackState, expected: Expected, run: str, echo: Echo
) -> dict[str, Any]:
    """Post the workload through intake and follow it to the sandbox and reporting."""
    session = Session(state, run)
    lag = LagSampler(state.kafka, PIPELINE_GROUPS)
    try:
        await session.prepare(expected.senders, echo)
        await lag.start()
        before = {
            "reporting": await session.reporting_counts(),
            "sandbox": await session.sandbox_counts(),
        }
        pids = {**state.pids, "bench-driver": os.getpid()}
        cpu = ProcSampler(pids)
        stores = store_urls(state)
        tops = {name: await store_top(url) for name, url in stores.items()}
        progress = Progress()
        singles = expected.items * opts.interactive_share
        progress.single_sample_every = max(1, int(singles // max(1, opts.max_samples * 3 // 4)))
        origin = time.monotonic()

        def clock() -> float:
            return time.monotonic() - origin

        bulk: asyncio.Queue[tuple[str, str, list[Planned]] | None] = asyncio.Queue(
            maxsize=2 * opts.bulk_clients
        )
        interactive: asyncio.Queue[Planned | None] | None = (
            asyncio.Queue() if opts.interactive_clients else None
        )
        stop = asyncio.Event()
        watching = asyncio.Event()
        watcher = asyncio.create_task(
            watch_events(state.kafka, progress, clock, asyncio.Event(), watching)
        )
        await asyncio.wait_for(watching.wait(), 60)
        timeline: list[dict[str, Any]] = []
        cpu.sample(0.0)
        await lag.sample(0.0)
        echo(
            f"pipeline: posting {expected.items:,} records ({opts.bulk_clients} bulk clients, "
            f"batches of {opts.batch_size}; {opts.interactive_clients} interactive clients)"
        )
        bulk_clients = [
            asyncio.create_task(bulk_client(session, bulk, progress, opts, clock))
            for _ in range(opts.bulk_clients)
        ]
        clients = list(bulk_clients)
        if interactive is not None:
            clients += [
                asyncio.create_task(interactive_client(session, interactive, progress, opts, clock))
                for _ in range(opts.interactive_clients)
            ]
        feeder = asyncio.create_task(
            dispatch(
                plan_items(opts, run, opts.records),
                opts.batch_size,
                bulk,
                interactive,
                opts.bulk_clients,
                opts.interactive_clients,
            )
        )
        poller = asyncio.create_task(poll_samples(session, progress, clock, stop))

        async def ingest() -> None:
            await feeder
            await asyncio.gather(*bulk_clients)
            if interactive is not None:
                # The clerks' pace must not hold the run back: what they have not
                # taken yet when the bulk is done goes in batches too.
                leftover: dict[tuple[str, str], list[Planned]] = defaultdict(list)
                while not interactive.empty():
                    item = interactive.get_nowait()
                    if item is not None:
                        leftover[(item.unit, item.source)].append(item)
                for _ in range(opts.interactive_clients):
                    interactive.put_nowait(None)
                if leftover:
                    rest: asyncio.Queue[tuple[str, str, list[Planned]] | None] = asyncio.Queue()
                    for (unit, source), items in leftover.items():
                        for start in range(0, len(items), opts.batch_size):
                            rest.put_nowait((unit, source, items[start : start + opts.batch_size]))
                    for _ in range(opts.bulk_clients):
                        rest.put_nowait(None)
                    await asyncio.gather(
                        *(
                            bulk_client(session, rest, progress, opts, clock)
                            for _ in range(opts.bulk_clients)
                        )
                    )
            await asyncio.gather(*clients)
            progress.ingest_done = clock()
            echo(
                f"ingest done at {progress.ingest_done:.1f}s: {dict(progress.outcomes)} "
                f"({progress.acked / max(progress.ingest_done, 1e-9):.0f} records/s)"
            )

        ingesting = asyncio.create_task(ingest())
        done_at: float | None = None
        last_change, last_key = 0.0, None
        next_sample = opts.interval_s
        next_say = 30.0
        status = "timeout"
        try:
            while True:
                await asyncio.sleep(1.0 if progress.ingest_done is None else 0.5)
                if ingesting.done() and ingesting.exception() is not None:
                    raise ingesting.exception()  # type: ignore[misc]
                t = clock()
                counts = {
                    "reporting": await session.reporting_counts(),
                    "sandbox": await session.sandbox_counts(),
                }
                rep = _delta(counts["reporting"], before["reporting"])
                sandbox = counts["sandbox"]["records"] - before["sandbox"]["records"]
                timeline.append(
                    {
                        "t": round(t, 2),
                        "acked": progress.acked,
                        "exported_sandbox": sandbox,
                        "reporting_total": rep.get("total", 0),
                        "reporting_exported": rep.get("exported", 0),
                        "reporting_terminal": sum(
                            rep.get(s, 0) for s in ("exported", "rejected", "duplicate_suspected")
                        ),
                    }
                )
                if t >= next_sample:
                    cpu.sample(t)
                    groups = await lag.sample(t)
                    next_sample = t + opts.interval_s
                    if t >= next_say:
                        next_say = t + 30.0
                        echo(
                            f"t={t:.0f}s acked={progress.acked:,} exported={sandbox:,} "
                            f"lag: "
                            + ", ".join(
                                f"{g.removeprefix('hotich-')}={v['lag']}" for g, v in groups.items()
                            )
                        )
                if _pipeline_done(expected, before, counts, progress):
                    done_at = t
                    status = "complete"
                    break
                key = json.dumps([counts, progress.acked], sort_keys=True)
                if key != last_key:
                    last_key, last_change = key, t
                elif progress.ingest_done is not None and t - last_change > opts.settle_s:
                    status = "stalled"
                    echo(f"nothing changed for {opts.settle_s:.0f}s: stopping the wait")
                    break
                if t > opts.timeout_s:
                    break
        finally:
            stop.set()
            for task in (*clients, feeder, ingesting):
                if not task.done():
                    task.cancel()
            with suppress(asyncio.CancelledError):
                await poller
        end = clock()
        cpu.sample(end)
        await lag.sample(end)
        # Let the samples still in flight finish (they are part of the latency figures).
        samples_wait = time.monotonic() + 20
        pending = [s for s in progress.samples.values() if s.status not in TERMINAL]
        while pending and time.monotonic() < samples_wait:
            stop.clear()
            poller = asyncio.create_task(poll_samples(session, progress, clock, stop))
            await asyncio.sleep(1.0)
            stop.set()
            await poller
            pending = [s for s in progress.samples.values() if s.status not in TERMINAL]
        spent = {name: store_time(tops[name], await store_top(url)) for name, url in stores.items()}
        frozen = [] if status == "complete" else stage_pids(state, FROZEN_FOR_CHECKS)

        async def reporting_caught_up() -> bool:
            return (await lag.read()).get(REPORTING_GROUP, {}).get("lag", 1) == 0

        async with paused(frozen, reporting_caught_up, CATCH_UP_S) as settled:
            if frozen:
                echo(
                    f"{status}: {', '.join(FROZEN_FOR_CHECKS)} paused for the checks; "
                    f"reporting {'caught up' if settled else 'still behind'}"
                )
            after = {
                "reporting": await session.reporting_counts(),
                "sandbox": await session.sandbox_counts(),
            }
            checked = time.monotonic()
            records = await per_record(state, expected, progress.created)
            echo(
                f"per record: {records['matching']:,} of {records['records']:,} as their truth "
                f"says ({time.monotonic() - checked:.0f}s to check)"
            )
        records["paused_for_checks"] = bool(frozen)
        reviewed = None
        if opts.review and bench_review.reviews_after(status):
            reviewed = await department_review(
                session, state, expected, progress.created, before, opts.review_timeout_s, echo
            )
        watcher.cancel()
        with suppress(asyncio.CancelledError):
            await watcher
    finally:
        await lag.stop()
        await session.close()

    first = progress.first_post or 0.0
    finish = done_at if done_at is not None else end
    created = progress.outcomes["created"]
    finished = records_finished(status, created, _delta(after["reporting"], before["reporting"]))
    seconds = finish - first
    ingest_s = (progress.ingest_done or end) - first
    samples = list(progress.samples.values())
    latency: dict[str, Any] = {
        "ack_ms": {
            kind: percentiles(values, 1000, 1) for kind, values in progress.ack_latency.items()
        }
    }
    for kind in ("interactive", "bulk"):
        mine = [s for s in samples if s.kind == kind]
        latency[kind] = {
            "samples": len(mine),
            "post_to_accepted_s": percentiles(
                [s.accepted - s.posted for s in mine if s.accepted is not None]
            ),
            "post_to_exported_s": percentiles(
                [s.done - s.posted for s in mine if s.done is not None and s.status == "exported"]
            ),
            "final_statuses": dict(Counter(s.status for s in mine)),
            "post_to_accepted_event_s": percentiles(
                [s.accepted_event - s.posted for s in mine if s.accepted_event is not None]
            ),
            "post_to_exported_event_s": percentiles(
                [s.exported_event - s.posted for s in mine if s.exported_event is not None]
            ),
        }
    stages = stage_figures(lag.rows, created, tuple(PIPELINE_GROUPS))
    rated = {
        g: f["records_per_s_while_behind"]
        for g, f in stages.items()
        if g in STAGES and f.get("records_per_s_while_behind")
    }
    return {
        "status": status,
        "records_created": created,
        "records_finished": finished,
        "first_post_s": round(first, 2),
        "ingest_done_s": round(progress.ingest_done or end, 2),
        "done_s": round(finish, 2) if done_at is not None else None,
        "seconds": round(seconds, 1),
        "records_per_s": round(finished / seconds, 1) if seconds > 0 else None,
        "exported_per_s": round(expected.exported / seconds, 1) if seconds > 0 else None,
        "ingest": {
            "seconds": round(ingest_s, 1),
            "records_per_s": round(created / ingest_s, 1) if ingest_s > 0 else None,
            "outcomes": dict(progress.outcomes),
            "batches": progress.batches,
            "errors": progress.errors[:10],
        },
        "latency": latency,
        "stages": stages,
        "bottleneck": min(rated, key=lambda g: rated[g]) if rated else None,
        "processes": cpu.summary(),
        "store_time": spent,
        "counts_before": before,
        "counts_after": after,
        "per_record": records,
        "review": reviewed,
        "timeline": timeline,
        "lag_timeline": lag.rows,
        "cores_timeline": cpu.cores_timeline(),
    }


TOP_OPERATIONS = ("queries", "getmore", "insert", "update", "remove", "commands")


async def store_top(url: str) -> dict[tuple[str, str], tuple[float, int]]:
    """A store's ``top`` totals: (namespace, operation) -> (server seconds, operations).

    ``top`` is MongoDB's per-collection account of the time the server spent on each
    kind of operation (SecantusDB keeps it too). Empty where the store does not answer.
    """
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, serverSelectionTimeoutMS=10_000
    )
    try:
        totals = (await client.admin.command("top"))["totals"]
    except Exception:  # noqa: BLE001 - a figure, never a reason to fail the run
        return {}
    finally:
        await client.close()
    return {
        (ns, op): (figures[op]["time"] / 1e6, int(figures[op]["count"]))
        for ns, figures in totals.items()
        if isinstance(figures, dict)
        for op in TOP_OPERATIONS
        if figures.get(op, {}).get("count")
    }


def store_time(
    before: dict[tuple[str, str], tuple[float, int]],
    after: dict[tuple[str, str], tuple[float, int]],
    most: int = 12,
) -> dict[str, Any]:
    """Where a store's time went between two :func:`store_top` readings, largest first."""
    rows = []
    for key, (seconds, count) in after.items():
        s0, n0 = before.get(key, (0.0, 0))
        if count - n0 > 0:
            rows.append((seconds - s0, count - n0, *key))
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    return {
        "server_seconds": round(total, 1),
        "by_operation": [
            {
                "namespace": ns,
                "operation": op,
                "seconds": round(sec, 1),
                "share": round(sec / total, 3) if total else None,
                "operations": n,
                "ms_per_operation": round(sec / n * 1000, 2),
            }
            for sec, n, ns, op in rows[:most]
        ],
    }


def store_urls(state: stack.StackState) -> dict[str, str]:
    """Store process name -> URL, for a stack of one store or several."""
    if not state.mongodb_urls:
        return {"store": state.mongodb_url}
    count = len(set(state.mongodb_urls.values()))
    by_index = {stack.store_of(s, count): url for s, url in state.mongodb_urls.items()}
    return {("store" if i == 0 else f"store-{i + 1}"): by_index[i] for i in sorted(by_index)}


async def _commit_at_end(bootstrap: str, group: str, topic: str) -> None:
    """Put a fresh consumer group at the end of ``topic`` (earlier runs' messages skipped)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []
            ]
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.commit({tp: int(off) for tp, off in ends.items()})
    finally:
        await consumer.stop()


async def run_baseline(
    opts: BenchOptions, state: stack.StackState, run: str, echo: Echo
) -> dict[str, Any]:
    """The same records through the bare hops (:mod:`hotich_local.bench_hops`)."""
    from hotich_local.infra.topics import TopicSpec, ensure_topics
    from hotich_runtime import mongo

    records = opts.baseline_records or opts.records
    names = [bench_hops.topic(i) for i in range(1, bench_hops.HOPS)]
    await ensure_topics(
        state.kafka, [TopicSpec(name=n, partitions=6) for n in names], with_configs=False
    )
    database = f"hotich_bench_hops_{run}"
    groups = [f"hotich-bench-{run}-hop{i}" for i in range(1, bench_hops.HOPS)]
    for group, name in zip(groups, names, strict=True):
        await _commit_at_end(state.kafka, group, name)
    pids, url, started_groups = bench_hops.start_hops(
        state.kafka, state.mongodb_url, database, run, Path(state.home) / "logs"
    )
    assert started_groups == groups
    lag = LagSampler(state.kafka, {g: (n,) for g, n in zip(groups, names, strict=True)})
    try:
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx.HTTPError:
                    return False

            await procs.wait_until(ready, within=60, what="baseline ingress")
            await lag.start()
            start_counts = await lag.read()
            await asyncio.sleep(3.0)  # the relays join their groups
            cpu = ProcSampler(
                {
                    **pids,
                    "broker": state.pids.get("broker", 0),
                    "store": state.pids.get("store", 0),
                    "bench-driver": os.getpid(),
                }
            )
            cpu.pids = {n: p for n, p in cpu.pids.items() if p}
            origin = time.monotonic()

            def clock() -> float:
                return time.monotonic() - origin

            posted = 0
            first: float | None = None
            ingest_done: float | None = None
            queue: asyncio.Queue[tuple[str, str, list[Planned]] | None] = asyncio.Queue(
                maxsize=2 * opts.bulk_clients
            )

            async def poster() -> None:
                nonlocal posted, first
                while (job := await queue.get()) is not None:
                    body = {"items": [{"record": p.body, "idempotency_key": p.key} for p in job[2]]}
                    if first is None:
                        first = clock()
                    response = await client.post("/batch", json=body)
                    response.raise_for_status()
                    posted += int(response.json()["counts"]["created"])

            async def ingest() -> None:
                nonlocal ingest_done
                items = plan_items(
                    BenchOptions(**{**asdict(opts), "interactive_share": 0.0}), run, records
                )
                feeder = asyncio.create_task(
                    dispatch(items, opts.batch_size, queue, None, opts.bulk_clients, 0)
                )
                await asyncio.gather(feeder, *(poster() for _ in range(opts.bulk_clients)))
                ingest_done = clock()

            echo(f"baseline: posting {records:,} records through {bench_hops.HOPS} bare hops")
            cpu.sample(0.0)
            await lag.sample(0.0)
            task = asyncio.create_task(ingest())
            last = groups[-1]
            done_at: float | None = None
            next_sample = opts.interval_s
            while True:
                await asyncio.sleep(0.5)
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
                t = clock()
                if t >= next_sample:
                    cpu.sample(t)
                    await lag.sample(t)
                    next_sample = t + opts.interval_s
                if task.done():
                    now = await lag.read()
                    finished = now[last]["committed"] - start_counts[last]["committed"]
                    if finished >= posted:
                        done_at = t
                        break
                if t > opts.timeout_s:
                    break
            end = clock()
            cpu.sample(end)
            await lag.sample(end)
    finally:
        await lag.stop()
        for pid in pids.values():
            procs.stop(pid)
        client_db = mongo.make_client(state.mongodb_url, app_name="hotich-bench")
        try:
            await client_db.drop_database(database)
        finally:
            client_db.close()
    start = first or 0.0
    finish = done_at if done_at is not None else end
    seconds = finish - start
    ingest_s = (ingest_done or end) - start
    stages = stage_figures(lag.rows, posted, tuple(groups))
    return {
        "status": "complete" if done_at is not None else "timeout",
        "hops": bench_hops.HOPS,
        "topics": names,
        "records": posted,
        "seconds": round(seconds, 1),
        "records_per_s": round(posted / seconds, 1) if seconds > 0 else None,
        "ingest": {
            "seconds": round(ingest_s, 1),
            "records_per_s": round(posted / ingest_s, 1) if ingest_s > 0 else None,
        },
        "stages": {g.rsplit("-", 1)[1]: f for g, f in stages.items()},
        "processes": cpu.summary(),
        "lag_timeline": [
            {"t": r["t"], "groups": {g.rsplit("-", 1)[1]: v for g, v in r["groups"].items()}}
            for r in lag.rows
        ],
        "cores_timeline": cpu.cores_timeline(),
    }


# --------------------------------------------------------------------------- checks, output


def correctness(expected: Expected, pipeline: dict[str, Any]) -> dict[str, Any]:
    """Intake's answers, the sandbox and reporting against the ground truth of the records."""
    outcomes = pipeline["ingest"]["outcomes"]
    before, after = pipeline["counts_before"], pipeline["counts_after"]
    rep = _delta(after["reporting"], before["reporting"])
    sandbox = _delta(after["sandbox"], before["sandbox"])
    checks = [
        ("intake: records created", expected.created, outcomes.get("created", 0)),
        (
            "intake: malformed records refused (invalid)",
            expected.invalid,
            outcomes.get("invalid", 0),
        ),
        (
            "intake: other answers (conflict, forbidden, errors)",
            0,
            sum(v for k, v in outcomes.items() if k not in ("created", "invalid")),
        ),
        ("sandbox: records held (exported)", expected.exported, sandbox.get("records", 0)),
        ("sandbox: records held twice", 0, sandbox.get("duplicate_sources", 0)),
        ("reporting: entered", expected.created, rep.get("total", 0)),
        ("reporting: exported", expected.exported, rep.get("exported", 0)),
        ("reporting: rejected", expected.rejected, rep.get("rejected", 0)),
        (
            "reporting: duplicate_suspected",
            expected.duplicate_suspected,
            rep.get("duplicate_suspected", 0),
        ),
        (
            "reporting: not yet final (received, valid, accepted)",
            0,
            sum(rep.get(s, 0) for s in ("received", "valid", "accepted")),
        ),
        ("reporting: export_failed", 0, rep.get("export_failed", 0)),
    ]
    records = pipeline.get("per_record")
    if records is not None:
        checks += [
            ("per record: final state as its truth says", records["records"], records["matching"]),
            (
                "per record: distinct records held as suspected duplicates",
                0,
                records["distinct_held_as_suspected"],
            ),
            ("per record: duplicates exported", 0, records["duplicates_exported"]),
        ]
        sandbox = records["sandbox"]
        if sandbox.get("read"):
            checks += [
                (
                    "per record: sandbox lacks a record reporting says exported",
                    0,
                    sandbox["missing"],
                ),
                (
                    "per record: sandbox holds a record reporting does not say exported",
                    0,
                    sandbox["unexpected"],
                ),
                ("per record: sandbox holds a record twice", 0, sandbox["held_twice"]),
            ]
    return checked(checks)


def checked(checks: Sequence[tuple[str, int, int]]) -> dict[str, Any]:
    """(check, expected, actual) rows as the results hold them, and whether all agree."""
    rows = [{"check": c, "expected": e, "actual": a, "ok": e == a} for c, e, a in checks]
    return {"passed": all(r["ok"] for r in rows), "checks": rows}


def machine() -> dict[str, Any]:
    """The machine the figures come from."""
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    with suppress(OSError, ValueError, IndexError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory_gb"] = round(int(mem) / 2**20, 1)
    return info


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def table(results: dict[str, Any]) -> str:
    """The headline figures as a Markdown table."""
    p = results["pipeline"]
    b = results.get("baseline") or {}
    lat = p["latency"]
    rows: list[tuple[str, str]] = [
        (
            "records posted (created / refused malformed)",
            f"{_fmt(p['records_created'])} / {_fmt(p['ingest']['outcomes'].get('invalid', 0))}",
        ),
        (
            "end to end: first post → last record exported and counted",
            f"{_fmt(p['seconds'], ' s')}, **{_fmt(p['records_per_s'])} records/s**"
            + (
                ""
                if p["status"] == "complete"
                else f" ({p['status']}: {_fmt(p.get('records_finished'))} records finished)"
            ),
        ),
        (
            "intake ingest (acknowledged by Kafka)",
            f"{_fmt(p['ingest']['seconds'], ' s')}, {_fmt(p['ingest']['records_per_s'])} records/s",
        ),
    ]
    if b:
        rows += [
            (
                "bare hops, same broker/store/hops (ceiling)",
                f"{_fmt(b['seconds'], ' s')}, {_fmt(b['records_per_s'])} records/s "
                f"({_fmt(b['records'])} records)",
            ),
            ("pipeline / ceiling", _fmt(results.get("ratio_pipeline_to_baseline"))),
        ]
    ack = lat["ack_ms"]
    if "single" in ack:
        s = ack["single"]
        rows.append(
            (
                "single POST → 202 (interactive)",
                f"p50 {_fmt(s.get('p50'), ' ms')}, p95 {_fmt(s.get('p95'), ' ms')}, "
                f"p99 {_fmt(s.get('p99'), ' ms')}",
            )
        )
    if "batch" in ack:
        s = ack["batch"]
        rows.append(
            (
                f"batch POST ({results['options']['batch_size']} records) → 200",
                f"p50 {_fmt(s.get('p50'), ' ms')}, p95 {_fmt(s.get('p95'), ' ms')}, "
                f"p99 {_fmt(s.get('p99'), ' ms')}",
            )
        )
    for kind in ("interactive", "bulk"):
        for what, label in (
            ("accepted_event", "accepted event on Kafka"),
            ("exported_event", "exported event on Kafka"),
            ("accepted", "accepted in intake's view"),
            ("exported", "exported in intake's view"),
        ):
            s = lat[kind][f"post_to_{what}_s"]
            if s.get("n"):
                rows.append(
                    (
                        f"{kind} post → {label} (n={s['n']})",
                        f"p50 {_fmt(s['p50'], ' s')}, p95 {_fmt(s['p95'], ' s')}, "
                        f"p99 {_fmt(s['p99'], ' s')}",
                    )
                )
    for group, f in p["stages"].items():
        rows.append(
            (
                f"{group}: peak lag; records/s while behind",
                f"{_fmt(f['peak_lag'])} events at {_fmt(f['peak_lag_at_s'], ' s')}; "
                f"{_fmt(f['records_per_s_while_behind'])}",
            )
        )
    rows.append(("slowest stage", _fmt(p["bottleneck"])))
    for name, f in sorted(p["processes"].items()):
        rows.append(
            (
                f"{name}: CPU, RSS peak",
                f"{_fmt(f['cpu_s'], ' s')} ({_fmt(f['cores_mean'])} cores), "
                f"{_fmt(f['rss_peak_mb'], ' MB')}",
            )
        )
    for name, spent in sorted(p.get("store_time", {}).items()):
        top = spent["by_operation"][:3]
        if top:
            rows.append(
                (
                    f"{name}: where its time went (server, `top`)",
                    "; ".join(
                        f"{r['namespace']} {r['operation']} {r['share'] * 100:.0f}% "
                        f"({r['ms_per_operation']} ms each)"
                        for r in top
                    ),
                )
            )
    ex = results["extrapolation"]
    rows.append(
        (
            f"full backlog ({PLAN_TOTAL:,} records) at this rate",
            f"{_fmt(ex['pipeline_hours'], ' h')} (ceiling {_fmt(ex.get('baseline_hours'), ' h')})",
        )
    )
    records = p.get("per_record")
    if records is not None:
        rows.append(
            (
                "records as their own truth says",
                f"{records['matching']:,} of {records['records']:,} "
                f"({records['distinct_held_as_suspected']} distinct held as suspected, "
                f"{records['duplicates_exported']} duplicates exported)"
                + (" — checked with the stages paused" if records.get("paused_for_checks") else ""),
            )
        )
    rows.append(
        (
            "correctness against the ground truth",
            "passed" if results["correctness"]["passed"] else "**FAILED**",
        )
    )
    review = p.get("review")
    if review is not None:
        records = review["per_record"]
        rows += [
            (
                "Department's review (not timed): suspects resolved",
                f"{review['suspects']:,} ({review['distinct']} distinct, "
                f"{review['duplicate']:,} duplicate) in {_fmt(review['resolve_s'], ' s')}, "
                f"{_fmt(review['resolutions_per_s'])}/s; p50 "
                f"{_fmt(review['latency_ms'].get('p50'), ' ms')}, p99 "
                f"{_fmt(review['latency_ms'].get('p99'), ' ms')}",
            ),
            (
                "records as their own truth says, after review",
                f"{records['matching']:,} of {records['records']:,} "
                f"({records['duplicates_exported']} duplicates exported)",
            ),
            (
                "correctness after review",
                "passed" if review["passed"] else "**FAILED**",
            ),
        ]
    width = max(len(r[0]) for r in rows)
    lines = [f"| {'what'.ljust(width)} | figure |", f"|{'-' * (width + 2)}|---|"]
    lines += [f"| {a.ljust(width)} | {v} |" for a, v in rows]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Throughput, lag per consumer group and CPU per process over time (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = results["pipeline"]
    fig, axes = plt.subplots(3, 1, figsize=(11, 11), sharex=False)
    ax = axes[0]

    def rate(
        series: list[tuple[float, int]], window: float = 10.0
    ) -> tuple[list[float], list[float]]:
        ts, rs = [], []
        for i, (t, v) in enumerate(series):
            j = i
            while j > 0 and t - series[j - 1][0] <= window:
                j -= 1
            if j < i:
                ts.append(t)
                rs.append((v - series[j][1]) / (t - series[j][0]))
        return ts, rs

    tl = p["timeline"]
    for key, label in (
        ("acked", "intake: acknowledged"),
        ("exported_sandbox", "national sandbox: exported"),
        ("reporting_terminal", "reporting: counted final"),
    ):
        ts, rs = rate([(r["t"], r[key]) for r in tl])
        ax.plot(ts, rs, label=label)
    b = results.get("baseline")
    if b:
        rows = b["lag_timeline"]
        last = f"hop{bench_hops.HOPS - 1}"
        ts, rs = rate(
            [(r["t"], r["groups"][last]["committed"]) for r in rows if last in r["groups"]]
        )
        ax.plot(ts, rs, "--", color="grey", label="bare hops: through the last hop")
    ax.set_ylabel("records/s (10 s window)")
    unfinished = (
        ""
        if p["status"] == "complete"
        else f" ({p['status']}: {p.get('records_finished', 0):,} finished)"
    )
    ax.set_title(
        f"hotich bench: {p['records_created']:,} records, "
        f"{p['records_per_s']} records/s end to end{unfinished}"
        + (f", ceiling {b['records_per_s']} records/s" if b else "")
    )
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[1]
    for group in PIPELINE_GROUPS:
        series = [
            (r["t"], r["groups"][group]["lag"]) for r in p["lag_timeline"] if group in r["groups"]
        ]
        ax.plot([t for t, _ in series], [v for _, v in series], label=group)
    ax.set_ylabel("consumer lag (events)")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[2]
    names = sorted({n for r in p["cores_timeline"] for n in r["cores"]})
    for name in names:
        series = [(r["t"], r["cores"].get(name, 0.0)) for r in p["cores_timeline"]]
        ax.plot([t for t, _ in series], [v for _, v in series], label=name, linewidth=1)
    ax.set_ylabel("CPU (cores)")
    ax.set_xlabel("seconds since the run started")
    ax.legend(loc="upper right", fontsize=7, ncol=3)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


async def run(opts: BenchOptions, echo: Echo = say) -> dict[str, Any]:
    """The whole benchmark; returns the results (also written to ``opts.out``)."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    run_id = uuid.uuid4().hex[:6]
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    info = machine()
    counted = time.monotonic()
    expected = expected_outcomes(opts)
    echo(
        f"workload: {expected.items:,} items; expected {expected.created:,} created, "
        f"{expected.invalid} malformed, {expected.exported:,} exported, {expected.rejected:,} "
        f"rejected, {expected.duplicate_suspected} suspected duplicates "
        f"({time.monotonic() - counted:.0f}s to count)"
    )
    async with a_stack(opts, echo) as (state, fresh):
        # The baseline first: after the pipeline run, consumers that trail (intake's
        # status view) would still be working on the same store and slow the ceiling.
        baseline = await run_baseline(opts, state, run_id, echo) if opts.baseline else None
        pipeline = await run_pipeline(opts, state, expected, run_id, echo)
        stack_info = {
            "fresh": fresh,
            "broker": f"{state.broker} {state.broker_version}",
            "store": state.store,
            "stores": sorted(n for n in state.pids if n == "store" or n.startswith("store-")),
            "instances": state.instances,
        }
    results: dict[str, Any] = {
        "started_at": started_at,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()},
        "machine": info,
        "stack": stack_info,
        "workload": {
            "generator": generation_config(opts.records, opts.seed).model_dump(
                mode="json", include={"seed", "total", "province_level"}
            ),
            "left_out": "province-level books and wrong-entering-unit noise (see bench.py)",
            "items": expected.items,
            "by_source": dict(expected.by_source),
            "senders": len(expected.senders),
            "expected": {
                "created": expected.created,
                "invalid": expected.invalid,
                "exported": expected.exported,
                "rejected": expected.rejected,
                "duplicate_suspected": expected.duplicate_suspected,
            },
        },
        "pipeline": pipeline,
    }
    if baseline is not None:
        results["baseline"] = baseline
        if pipeline["records_per_s"] and baseline["records_per_s"]:
            results["ratio_pipeline_to_baseline"] = round(
                pipeline["records_per_s"] / baseline["records_per_s"], 3
            )
    results["correctness"] = correctness(expected, pipeline)
    rate = pipeline["records_per_s"]
    results["extrapolation"] = {
        "records": PLAN_TOTAL,
        "pipeline_hours": round(PLAN_TOTAL / rate / 3600, 1) if rate else None,
        "baseline_hours": (
            round(PLAN_TOTAL / baseline["records_per_s"] / 3600, 2)
            if baseline and baseline["records_per_s"]
            else None
        ),
    }
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    if opts.plot is not None:
        plot(results, opts.plot)
    return results

"""Benchmark intake: single POST latency under 50 concurrent clients, batch and bulk throughput.

Usage::

    uv run python bench/intake_bench.py [--clients 50] [--posts-per-client 40] \
        [--batch-records 50000] [--import-records 50000] [--stores 1] [--repeat 1] \
        [--out bench/results/intake.json] [--profile DIR]

Starts Kafka, the store and intake only (the downstream consumers would compete for the
same two cores), with one clerk account per client, and sends generated records
(``hotich generate``'s generator). Every 202/200 counted here means the record's event
was acknowledged by Kafka with ``acks=all``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from hotich_local import accounts, stack
from hotich_local.synth import GenerationConfig, generate

PASSWORD = "bench-password"


def _records(total: int, seed: int) -> Iterator[dict[str, Any]]:
    """Structurally valid records with unique register coordinates (bench run id in the book)."""
    run = uuid.uuid4().hex[:6]
    for item in generate(GenerationConfig(seed=seed, total=total, province_level=0)):
        if item["truth"]["malformed"]:
            continue
        record = dict(item["record"])
        record["source"] = "manual"
        record["book_number"] = f"{record['book_number']}-{run}"
        yield record


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User+system CPU seconds each process (and its children) has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[name] = (
                int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
            ) / ticks
        except OSError:
            used[name] = 0.0
    return used


async def _measured(
    pids: dict[str, int], phase: Any, profile: tuple[Path, str] | None = None
) -> dict[str, Any]:
    """Run ``phase``; add the CPU each process used; profile it into ``(dir, name)``."""
    profilers = _start_profilers(pids, *profile) if profile is not None else []
    before = _cpu_seconds(pids)
    result: dict[str, Any] = await phase
    after = _cpu_seconds(pids)
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=60)
    result["cpu_s"] = {n: round(after[n] - before[n], 1) for n in pids}
    return result


def _py_spy() -> str:
    """The py-spy executable (``uv tool install py-spy`` puts it in ~/.local/bin)."""
    found = shutil.which("py-spy") or str(Path.home() / ".local/bin/py-spy")
    if not Path(found).exists():
        raise SystemExit("--profile needs py-spy: uv tool install py-spy")
    return found


def _start_profilers(
    pids: dict[str, int], directory: Path, phase: str
) -> list[subprocess.Popen[bytes]]:
    """py-spy on intake and the store for one phase (``--profile DIR``): collapsed stacks."""
    spy = _py_spy()
    directory.mkdir(parents=True, exist_ok=True)
    started = []
    for name, pid in pids.items():
        if name not in ("intake", "store"):
            continue
        out = directory / f"{phase}-{name}.txt"
        started.append(
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    time.sleep(1.0)  # py-spy attaches before the phase starts
    return started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _login(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post(
        "/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def single_posts(
    url: str, tokens: list[str], posts: int, records: Iterator[dict[str, Any]]
) -> dict[str, Any]:
    """``len(tokens)`` clients, each posting ``posts`` records one after another."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    bodies = [[next(records) for _ in range(posts)] for _ in tokens]
    limits = httpx.Limits(max_connections=len(tokens) + 10)

    async def client_loop(token: str, mine: list[dict[str, Any]]) -> None:
        async with httpx.AsyncClient(
            base_url=url, limits=limits, timeout=60, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            for body in mine:
                started = time.perf_counter()
                response = await client.post(
                    "/v1/records", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(t, b) for t, b in zip(tokens, bodies, strict=True)))
    elapsed = time.perf_counter() - started
    return {
        "clients": len(tokens),
        "requests": len(latencies),
        "statuses": statuses,
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


class RawClient:
    """A minimal HTTP/1.1 keep-alive client: the load generator shares the server's 2 cores.

    httpx spends several times the server's CPU per request; a benchmark driven by it
    measures the client. This one writes prebuilt requests and reads answers by
    Content-Length (what uvicorn sends for JSON), like wrk or hey would.
    """

    def __init__(self, url: str, token: str) -> None:
        parsed = httpx.URL(url)
        self.host, self.port = parsed.host, parsed.port or 80
        self.token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        """Open the keep-alive connection."""
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """Send one POST and read its answer; return the status code."""
        assert self.reader is not None
        assert self.writer is not None
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(
            (
                f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{extra}\r\n"
            ).encode()
            + body
        )
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked answers are not expected here")
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def raw_single_posts(
    url: str, tokens: list[str], posts: int, records: Iterator[dict[str, Any]]
) -> dict[str, Any]:
    """Like :func:`single_posts`, with :class:`RawClient`; connections opened before timing."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    bodies = [
        [json.dumps(next(records), ensure_ascii=False).encode() for _ in range(posts)]
        for _ in tokens
    ]
    clients = [RawClient(url, t) for t in tokens]
    await asyncio.gather(*(c.connect() for c in clients))
    cpu_before = time.process_time()

    async def client_loop(client: RawClient, mine: list[bytes]) -> None:
        for body in mine:
            started = time.perf_counter()
            status = await client.post("/v1/records", body, {"Idempotency-Key": uuid.uuid4().hex})
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(c, b) for c, b in zip(clients, bodies, strict=True)))
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_before
    await asyncio.gather(*(c.close() for c in clients))
    return {
        "client": "raw HTTP/1.1 keep-alive (connections opened before timing)",
        "clients": len(tokens),
        "requests": len(latencies),
        "statuses": statuses,
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "load_generator_cpu_s": round(client_cpu, 1),
    }


async def batches(
    url: str, tokens: list[str], total: int, size: int, records: Iterator[dict[str, Any]]
) -> dict[str, Any]:
    """Batches of ``size`` records from ``len(tokens)`` clients in parallel."""
    queue: list[list[dict[str, Any]]] = []
    for _ in range(total // size):
        queue.append([{"record": next(records)} for _ in range(size)])
    created = 0

    async def client_loop(token: str) -> None:
        nonlocal created
        async with httpx.AsyncClient(
            base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            while queue:
                items = queue.pop()
                response = await client.post("/v1/records/batch", json={"items": items})
                response.raise_for_status()
                created += response.json()["counts"].get("created", 0)

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(t) for t in tokens))
    elapsed = time.perf_counter() - started
    return {
        "clients": len(tokens),
        "batch_size": size,
        "records": created,
        "elapsed_s": round(elapsed, 2),
        "records_per_s": round(created / elapsed, 1),
    }


async def bulk_import(
    url: str, token: str, total: int, records: Iterator[dict[str, Any]]
) -> dict[str, Any]:
    """One streamed NDJSON import of ``total`` records."""
    payload = [
        (json.dumps(next(records), ensure_ascii=False) + "\n").encode() for _ in range(total)
    ]

    async def body() -> Any:
        for start in range(0, len(payload), 1000):
            yield b"".join(payload[start : start + 1000])

    async with httpx.AsyncClient(
        base_url=url, timeout=600, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        started = time.perf_counter()
        response = await client.post("/v1/imports", content=body())
        elapsed = time.perf_counter() - started
    response.raise_for_status()
    summary = response.json()
    return {
        "records": summary["submitted"],
        "errors": summary["error_count"],
        "elapsed_s": round(elapsed, 2),
        "records_per_s": round(summary["submitted"] / elapsed, 1),
    }


async def _run_phases(
    args: argparse.Namespace,
    pids: dict[str, int],
    url: str,
    tokens: list[str],
    records: Iterator[dict[str, Any]],
) -> dict[str, Any]:
    """The measured phases once: single POSTs (raw client, then httpx), batches, import."""
    found: dict[str, Any] = {}
    found["single_post"] = await _measured(
        pids,
        raw_single_posts(url, tokens, args.posts_per_client, records),
        _profile(args, "single"),
    )
    print(json.dumps(found["single_post"]))
    # The same with httpx as the client, for comparison: it needs more CPU than the
    # server, on the same two cores.
    found["single_post_httpx_client"] = await _measured(
        pids, single_posts(url, tokens, args.posts_per_client, records)
    )
    print(json.dumps(found["single_post_httpx_client"]))
    found["batch"] = await _measured(
        pids,
        batches(url, tokens[:4], args.batch_records, 1000, records),
        _profile(args, "batch"),
    )
    print(json.dumps(found["batch"]))
    found["import"] = await _measured(
        pids,
        bulk_import(url, tokens[0], args.import_records, records),
        _profile(args, "import"),
    )
    print(json.dumps(found["import"]))
    return found


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and every run's value of the figures the goals are about.

    This machine's two cores are shared: the same phase varies by a third from one run to
    the next (CPU per record included), hence several runs and their median.
    """

    def per_record(phase: dict[str, Any], process: str) -> float:
        return round(1000 * phase["cpu_s"].get(process, 0.0) / max(1, phase["records"]), 3)

    figures = {
        "single_post_p50_ms": [r["single_post"]["p50_ms"] for r in runs],
        "single_post_p99_ms": [r["single_post"]["p99_ms"] for r in runs],
        "single_post_requests_per_s": [r["single_post"]["requests_per_s"] for r in runs],
        "batch_records_per_s": [r["batch"]["records_per_s"] for r in runs],
        "import_records_per_s": [r["import"]["records_per_s"] for r in runs],
        "intake_cpu_ms_per_batched_record": [per_record(r["batch"], "intake") for r in runs],
        "store_cpu_ms_per_batched_record": [per_record(r["batch"], "store") for r in runs],
    }
    return {
        name: {"median": statistics.median(values), "runs": values}
        for name, values in figures.items()
    }


def _profile(args: argparse.Namespace, phase: str) -> tuple[Path, str] | None:
    return (args.profile, phase) if args.profile is not None else None


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Run the measurements ``--repeat`` times, each on a fresh stack; summarize."""
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "stores": args.stores,
    }
    records = _records(
        # per run: the single POSTs twice (raw client, then httpx), the batches, the
        # import, the warm-up
        args.repeat
        * (
            2 * args.clients * args.posts_per_client
            + args.batch_records
            + args.import_records
            + 5000
        ),
        seed=args.seed,
    )
    runs = []
    for run in range(args.repeat):
        print(f"run {run + 1} of {args.repeat}")
        runs.append(await _run_on_fresh_stack(args, records, results))
    results |= runs[0]  # the first run's phases, where earlier results had them
    if args.repeat > 1:
        results["runs"] = runs
    results["summary"] = _summary(runs)
    return results


async def _run_on_fresh_stack(
    args: argparse.Namespace, records: Iterator[dict[str, Any]], results: dict[str, Any]
) -> dict[str, Any]:
    """Start broker, store(s) and intake; run the measured phases once; stop.

    A fresh stack each time: in one that keeps the earlier runs' records, every run is
    slower than the one before (a bigger store).
    """
    with tempfile.TemporaryDirectory() as tmp:
        config = stack.StackConfig.load(str(Path(tmp) / "home"), free_ports=True)
        config.only = ("intake",)
        config.stores = args.stores
        state = await stack.up(config, echo=print)
        results["broker"] = f"{state.broker} {state.broker_version}"
        results["store"] = state.store
        try:
            names = [f"clerk{i:03d}" for i in range(args.clients)]
            for name in names:
                await accounts.create(
                    state.mongodb_url,
                    name,
                    PASSWORD,
                    "25459",
                    "clerk",
                    database=config.intake_database(),
                )
            url = state.urls["intake"]
            async with httpx.AsyncClient(base_url=url) as client:
                tokens = [await _login(client, n) for n in names]
            await single_posts(url, tokens[:5], 10, records)  # warm-up
            found = await _run_phases(args, state.pids, url, tokens, records)
            info = stack.status(config)
            found["rss_mb_after"] = {n: p["rss_mb"] for n, p in info["processes"].items()}
            return found
        finally:
            stack.down(config)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--posts-per-client", type=int, default=40)
    parser.add_argument("--batch-records", type=int, default=50_000)
    parser.add_argument("--import-records", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the measured phases this many times, each on a fresh stack; the "
        "summary gives each figure's median and every run's value",
    )
    parser.add_argument(
        "--stores",
        type=int,
        default=1,
        help="local store processes (as hotich up --stores); with 2 or more intake's store "
        "runs standalone (no oplog), as in hotich bench --stores 3",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/intake.json"))
    parser.add_argument(
        "--profile",
        type=Path,
        help="record py-spy profiles (collapsed stacks) of intake and the store per phase here",
    )
    arguments = parser.parse_args()
    if arguments.profile is not None:
        _py_spy()  # before the stack starts
    outcome = asyncio.run(main(arguments))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(outcome, indent=2) + "\n")
    print(json.dumps(outcome, indent=2))

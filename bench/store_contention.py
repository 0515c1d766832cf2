"""Measure the local store's throughput against the number of concurrent connections.

Usage::

    uv run python bench/store_contention.py                 # 1, 2, 4, 8, 16 connections
    uv run python bench/store_contention.py --connections 1,8 --seconds 10

Each connection is a separate client process (one connection each) alternating an
``$inc`` update and a find, both by ``_id``, over 20,000 small documents. Every count
of connections runs twice on a fresh SecantusDB: with the driver's retryable writes on
(pymongo's default) and off (``retryWrites=false``, what the local stack uses).

Why: SecantusDB keeps the reply of each retryable write, up to 10,000 of them, and
past that sorts them all on every write to drop the oldest. The end-to-end benchmark
sank to 30-60 records/s with the store using well under a core; this script shows the
cause. Results go to ``bench/results/store_contention.json``. A script, not a timed
test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from hotich_local.infra import mongo, procs

DOCS = 20_000


def say(message: str) -> None:
    """Progress on stderr, timestamped."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def worker(url: str, start: int, step: int, seconds: float, out: Any) -> None:
    """One client process: update and read by ``_id`` until time is up; report the count."""
    client: MongoClient[dict[str, Any]] = MongoClient(url, maxPoolSize=1)
    docs = client.bench.docs
    done, i = 0, start
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        docs.update_one({"_id": i % DOCS}, {"$inc": {"v": 1}})
        docs.find_one({"_id": (i * 7) % DOCS})
        done += 2
        i += step
    client.close()
    out.put(done)


def measure(url: str, connections: int, seconds: float) -> float:
    """Operations per second with ``connections`` client processes at once."""
    out: Any = mp.Queue()
    workers = [
        mp.Process(target=worker, args=(url, k, connections, seconds, out))
        for k in range(connections)
    ]
    for w in workers:
        w.start()
    total = sum(out.get() for _ in workers)
    for w in workers:
        w.join()
    return total / seconds


def run(retry_writes: bool, counts: list[int], seconds: float) -> dict[str, float]:
    """Ops/s per connection count on one fresh store, the counts run in order."""
    server = mongo.SecantusServer(None, port=procs.free_port())
    server.start(log_path=Path(tempfile.gettempdir()) / f"store-contention-{server.port}.log")
    try:
        base = f"mongodb://127.0.0.1:{server.port}/?directConnection=true"
        url = base + ("" if retry_writes else "&retryWrites=false")
        setup: MongoClient[dict[str, Any]] = MongoClient(url)
        deadline = time.monotonic() + 60
        while True:
            try:
                setup.admin.command("ping")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        setup.bench.docs.insert_many([{"_id": i, "v": 0, "pad": "x" * 300} for i in range(DOCS)])
        setup.close()
        figures = {}
        for n in counts:
            figures[str(n)] = round(measure(url, n, seconds))
            say(
                f"retryWrites={'on' if retry_writes else 'off'} connections={n}: "
                f"{figures[str(n)]:,} ops/s"
            )
        return figures
    finally:
        server.stop()


def main() -> None:
    """Run both settings over the connection counts; print a table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", default="1,2,4,8,16")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--out", default="bench/results/store_contention.json")
    args = parser.parse_args()
    counts = [int(c) for c in args.connections.split(",")]
    results = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": mp.cpu_count(), "python": platform.python_version()},
        "seconds_per_point": args.seconds,
        "ops_per_s": {
            "retry_writes_on": run(True, counts, args.seconds),
            "retry_writes_off": run(False, counts, args.seconds),
        },
    }
    print("| connections | retryWrites on (ops/s) | off (ops/s) |")
    print("|---|---|---|")
    for n in counts:
        on = results["ops_per_s"]["retry_writes_on"][str(n)]
        off = results["ops_per_s"]["retry_writes_off"][str(n)]
        print(f"| {n} | {on:,} | {off:,} |")
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

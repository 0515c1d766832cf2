"""Measure the walking skeleton: start-up time, one record's latency end to end, idle RSS.

Usage::

    uv run python bench/skeleton.py [--records 20] [--cold] [--out bench/results/skeleton.json]

``--cold`` uses an empty jar cache (``HOTICH_CACHE_DIR`` in a temp dir), so the Kafka jars
are fetched from Maven Central as on a fresh machine. Latency is measured from the POST
to the moment intake's status view says ``exported`` *and* reporting counts the record:
what a clerk and the Department would see.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from hotich_contracts.examples import example_record
from hotich_contracts.records import RecordType
from hotich_local import accounts, stack


async def _token(state: stack.StackState, config: stack.StackConfig) -> str:
    username = f"bench-{uuid.uuid4().hex[:6]}"
    await accounts.create(
        state.mongodb_url,
        username,
        "bench-password",
        "25459",
        "clerk",
        database=config.intake_database(),
    )
    async with httpx.AsyncClient(base_url=state.urls["intake"]) as client:
        response = await client.post(
            "/v1/auth/token", data={"username": username, "password": "bench-password"}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


async def _one_record(intake: httpx.AsyncClient, reporting: httpx.AsyncClient, n: int) -> float:
    body = example_record(RecordType.BIRTH, entry_number=f"{n}{uuid.uuid4().int % 10**6}")
    # A different child each time: the same child entered twice is a probable duplicate.
    details = body["details"]
    details["child"] = {
        **details["child"],
        "full_name": f"Nguyễn Văn Thử {n} {uuid.uuid4().hex[:6]}",
        "date_of_birth": f"2010-0{1 + n % 9}-{10 + n % 18}",
    }
    before = (
        (await reporting.get("/v1/progress")).json()["units"].get("25459", {}).get("exported", 0)
    )
    started = time.perf_counter()
    response = await intake.post("/v1/records", json=body)
    response.raise_for_status()
    record_id = response.json()["record_id"]
    while True:
        view = (await intake.get(f"/v1/records/{record_id}")).json()
        if view["status"] == "exported":
            counted = (await reporting.get("/v1/progress")).json()["units"]["25459"]["exported"]
            if counted > before:
                return time.perf_counter() - started
        elif view["status"] in ("rejected", "export_failed"):
            raise RuntimeError(f"record {record_id} ended {view['status']}: {view['reasons']}")
        await asyncio.sleep(0.01)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Start the stack twice (first and warm restart), time records through it, read RSS."""
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        if args.cold:
            os.environ["HOTICH_CACHE_DIR"] = str(Path(tmp) / "cache")
        config = stack.StackConfig.load(str(Path(tmp) / "home"), free_ports=True)
        started = time.perf_counter()
        state = await stack.up(config, echo=print)
        results["up_first_s"] = round(time.perf_counter() - started, 2)
        results["broker"] = f"{state.broker} {state.broker_version}"
        stack.down(config)
        started = time.perf_counter()
        state = await stack.up(config, echo=print)
        results["up_warm_restart_s"] = round(time.perf_counter() - started, 2)
        try:
            token = await _token(state, config)
            headers = {"Authorization": f"Bearer {token}"}
            async with (
                httpx.AsyncClient(base_url=state.urls["intake"], headers=headers) as intake,
                httpx.AsyncClient(base_url=state.urls["reporting"], headers=headers) as reporting,
            ):
                first = await _one_record(intake, reporting, 0)
                latencies = [
                    await _one_record(intake, reporting, n) for n in range(1, args.records)
                ]
            results["first_record_s"] = round(first, 3)
            results["latency_s"] = {
                "n": len(latencies),
                "p50": round(statistics.median(latencies), 3),
                "max": round(max(latencies), 3),
                "min": round(min(latencies), 3),
            }
            await asyncio.sleep(args.idle_s)
            info = stack.status(config)
            results["idle_rss_mb"] = {n: p["rss_mb"] for n, p in info["processes"].items()}
        finally:
            stack.down(config)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument(
        "--cold", action="store_true", help="fetch the Kafka jars into an empty cache"
    )
    parser.add_argument("--idle-s", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/skeleton.json"))
    arguments = parser.parse_args()
    outcome = asyncio.run(main(arguments))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(outcome, indent=2) + "\n")
    print(json.dumps(outcome, indent=2))

"""``hotich bench`` on a tiny workload: the figures are there and the run is correct.

The stack gets a broker of its own even when ``HOTICH_TEST_KAFKA_BOOTSTRAP`` names a
shared one: a fresh stack's consumer groups would read the events other tests left on
the lifecycle topics, and the benchmark compares what reporting counts with the ground
truth of the records it posted.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient

from hotich_local import stack
from tests.fixtures.infra import StoreInfo

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

RECORDS = 300


@pytest.fixture
async def bench_stack(
    store: StoreInfo, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[stack.StackConfig]:
    """The session's store when it was given or runs in a container; else two local store
    processes of the stack's own, the services' databases spread over them (``--stores``)."""
    home: Path = tmp_path_factory.mktemp("hotich-bench")
    local = store.kind.startswith("secantusdb")
    config = stack.StackConfig.load(
        str(home),
        external_mongodb=None if local else store.url,
        free_ports=True,
        database_prefix=f"bench_{home.name}_",
    )
    config.stores = 2 if local else 1
    state = await stack.up(config)
    if local:
        # intake's and reporting's databases in different stores
        assert len(set(state.mongodb_urls.values())) == 2
        assert state.mongodb_urls["intake"] != state.mongodb_urls["reporting"]
        assert state.mongodb_url == state.mongodb_urls["intake"]
        # the store without reporting's database runs standalone (no oplog), the other
        # as a replica set (reporting's transactions)
        assert await _set_name(state.mongodb_urls["intake"]) is None
        assert await _set_name(state.mongodb_urls["reporting"]) == "secantus"
    try:
        yield config
    finally:
        stack.down(config)


async def _set_name(url: str) -> str | None:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(url)
    try:
        hello = await client.admin.command("hello")
    finally:
        client.close()
    name = hello.get("setName")
    return None if name is None else str(name)


async def test_bench_reports_figures_and_matches_the_ground_truth(
    bench_stack: stack.StackConfig, tmp_path: Path
) -> None:
    out, png = tmp_path / "e2e.json", tmp_path / "e2e.png"
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("hotich")),
        "bench",
        "--home",
        str(bench_stack.home),
        "--records",
        str(RECORDS),
        "--out",
        str(out),
        "--plot",
        str(png),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-3000:]
    assert "| end to end" in text  # the table
    assert "| records as their own truth says" in text

    results = json.loads(out.read_text())
    assert results["stack"]["fresh"] is False  # it used the stack started here
    assert results["correctness"]["passed"] is True, results["correctness"]
    expected = results["workload"]["expected"]
    assert expected["created"] + expected["invalid"] == RECORDS
    assert expected["exported"] > 0

    pipeline = results["pipeline"]
    assert pipeline["status"] == "complete"
    # Every record compared with its own truth, not only the counts.
    records = pipeline["per_record"]
    assert records["records"] == expected["created"]
    assert records["matching"] == records["records"], records["examples"]
    assert records["matrix"]["exported"] == {"exported": expected["exported"]}
    assert records["sandbox"]["read"] is True
    assert records["sandbox"]["held"] == expected["exported"]
    checked = {r["check"] for r in results["correctness"]["checks"]}
    assert "per record: sandbox holds a record twice" in checked
    assert pipeline["records_created"] == expected["created"]
    # The Department's review after the run: every suspect resolved through dedup's API,
    # then the sandbox and reporting as the truth says once the probable duplicates are
    # rejected as such.
    review = pipeline["review"]
    assert review["passed"] is True, review["checks"]
    assert expected["duplicate_suspected"] > 0
    assert review["suspects"] == expected["duplicate_suspected"]
    assert review["answers"] == {"200": review["suspects"]}
    assert review["latency_ms"]["n"] == review["suspects"]
    assert review["latency_ms"]["p99"] > 0
    assert review["settled"] is True
    assert review["counts"]["reporting"]["duplicate_suspected"] == 0
    assert review["counts"]["sandbox"]["records"] == expected["exported"]
    assert review["per_record"]["matching"] == expected["created"]
    assert "| correctness after review" in text
    assert pipeline["records_per_s"] > 0
    assert pipeline["ingest"]["records_per_s"] > 0
    assert pipeline["latency"]["ack_ms"]["batch"]["n"] > 0
    assert pipeline["latency"]["ack_ms"]["single"]["p99"] > 0
    interactive = pipeline["latency"]["interactive"]
    assert interactive["post_to_exported_event_s"]["n"] > 0
    assert interactive["post_to_accepted_event_s"]["p50"] > 0
    assert set(pipeline["stages"]) >= {
        "hotich-validation",
        "hotich-dedup",
        "hotich-export",
        "hotich-reporting",
    }
    assert pipeline["lag_timeline"]
    # Each process's RSS over time, beside its cores.
    assert all(row["rss_mb"]["reporting"] > 0 for row in pipeline["cores_timeline"])
    # Where each store's time went (its `top` command): the services' collections.
    assert set(pipeline["store_time"]) == {"store", "store-2"}
    spent = [r for t in pipeline["store_time"].values() for r in t["by_operation"]]
    databases = {r["namespace"].split(".")[0] for r in spent}
    assert {d.rsplit("_", 1)[-1] for d in databases} >= {"intake", "reporting"}
    assert all(r["seconds"] >= 0 and r["operations"] > 0 for r in spent)
    # The store is the session's (external to this stack): not among the stack's processes.
    for name in ("intake", "validation", "dedup", "export", "reporting", "broker"):
        figures = pipeline["processes"][name]
        assert figures["cpu_s"] >= 0
        assert figures["rss_peak_mb"] > 0

    baseline = results["baseline"]
    assert baseline["status"] == "complete"
    assert baseline["records"] == RECORDS
    assert baseline["records_per_s"] > 0
    assert baseline["topics"] == [f"hotich.bench.hop{i}" for i in range(1, baseline["hops"])]
    assert results["ratio_pipeline_to_baseline"] > 0
    assert results["extrapolation"]["pipeline_hours"] > 0

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

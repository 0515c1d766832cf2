"""The pure parts of ``hotich bench``: its workload's ground truth and its figures."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from hotich_contracts.events import RecordEntered, RecordEnteredPayload
from hotich_contracts.plan import load_plan
from hotich_contracts.records import parse_record
from hotich_contracts.units import default_registry
from hotich_local import bench
from hotich_local.synth import generate
from hotich_validation.service_layer.handlers import Validator
from tests.deploy.test_stack_units import state_of


def test_the_workloads_ground_truth_holds_for_an_entry_made_today() -> None:
    """The correctness check compares with the truth: validation must agree with it today."""
    validator = Validator(plan=load_plan(), registry=default_registry())
    now = datetime.now(UTC)
    checked = 0
    for item in generate(bench.generation_config(3000, 2547)):
        truth = item["truth"]
        if truth["malformed"]:
            continue
        event = RecordEntered(
            actor="clerk",
            correlation_id=truth["id"],
            record_id=truth["id"],
            record_version=1,
            unit_code=truth["entering_unit_code"],
            occurred_at=now,
            payload=RecordEnteredPayload(record=parse_record(item["record"])),
        )
        outcome = validator.validate(event).payload
        expected = [c for c in truth["reasons"] if c != "duplicate_exact"]
        assert [r.code for r in outcome.reasons] == expected, truth
        assert outcome.phase == truth["phase"], truth
        checked += 1
    assert checked > 2900


def test_expected_outcomes_add_up() -> None:
    expected = bench.expected_outcomes(bench.BenchOptions(records=2000))
    assert expected.items == 2000
    assert expected.created + expected.invalid == 2000
    assert expected.exported + expected.rejected + expected.duplicate_suspected == expected.created
    assert all(source in ("manual", "migration") for _, source in expected.senders)


def test_interactive_share_and_unique_keys() -> None:
    options = bench.BenchOptions(records=1000, interactive_share=0.1)
    items = list(bench.plan_items(options, "run1", 1000))
    assert sum(i.interactive for i in items) == 100
    assert len({i.key for i in items}) == 1000
    assert all(i.body["book_number"].endswith("-run1") for i in items if i.body["book_number"])


def test_percentiles() -> None:
    figures = bench.percentiles([0.1 * n for n in range(1, 101)], scale=1000, digits=0)
    assert figures["n"] == 100
    assert figures["p50"] == 5100
    assert figures["p99"] == 10000
    assert bench.percentiles([]) == {"n": 0}


def test_stage_figures_rate_while_behind_and_drain() -> None:
    rows = [
        {"t": 0.0, "groups": {"g": {"end": 0, "committed": 0, "lag": 0}}},
        {"t": 2.0, "groups": {"g": {"end": 400, "committed": 100, "lag": 300}}},
        {"t": 4.0, "groups": {"g": {"end": 400, "committed": 300, "lag": 100}}},
        {"t": 6.0, "groups": {"g": {"end": 400, "committed": 400, "lag": 0}}},
    ]
    figures = bench.stage_figures(rows, records=200, groups=("g",))["g"]
    assert figures["peak_lag"] == 300
    assert figures["peak_lag_at_s"] == 2.0
    assert figures["drained_at_s"] == 6.0
    assert figures["events_per_record"] == 2.0
    assert figures["events_per_s_while_behind"] == 75.0  # 300 events over 4 s with lag
    assert figures["records_per_s_while_behind"] == 37.5


def failed_checks(result: dict[str, Any]) -> set[str]:
    """The checks a correctness result failed (and that it says it failed)."""
    failed = {r["check"] for r in result["checks"] if not r["ok"]}
    assert result["passed"] is (not failed)
    return failed


def test_correctness_flags_a_missing_export() -> None:
    expected = bench.Expected(created=10, invalid=1, exported=8, rejected=2)
    before = {"reporting": {}, "sandbox": {"records": 5, "duplicate_sources": 0}}
    after = {
        "reporting": {"total": 10, "exported": 7, "rejected": 2, "accepted": 1},
        "sandbox": {"records": 12, "duplicate_sources": 0},
    }
    pipeline = {
        "ingest": {"outcomes": {"created": 10, "invalid": 1}},
        "counts_before": before,
        "counts_after": after,
    }
    assert failed_checks(bench.correctness(expected, pipeline)) == {
        "sandbox: records held (exported)",
        "reporting: exported",
        "reporting: not yet final (received, valid, accepted)",
    }


def test_every_created_item_has_its_expected_label() -> None:
    expected = bench.expected_outcomes(bench.BenchOptions(records=2000))
    labels = [label for label in expected.labels if label is not None]
    assert len(labels) == expected.created
    assert labels.count("exported") == expected.exported
    assert labels.count("duplicate_suspected") == expected.duplicate_suspected
    rejected = [label for label in labels if label.startswith("rejected:")]
    assert len(rejected) == expected.rejected
    assert {"rejected:duplicate_exact", "rejected:not_enterable"} <= set(rejected)
    # Each planned item points at its own label.
    for item in bench.plan_items(bench.BenchOptions(records=2000), "r", 2000):
        assert (expected.labels[item.seq] is None) == item.malformed
    # Duplicate groups: every duplicate with its original, under the original's number.
    groups: dict[int, list[str | None]] = {}
    for seq, root in expected.group_of.items():
        groups.setdefault(root, []).append(expected.labels[seq])
    assert groups
    for root, members in groups.items():
        assert expected.group_of[root] == root
        assert len(members) >= 2


def test_a_rejection_matches_when_the_truths_reason_is_among_its_reasons() -> None:
    want = "rejected:out_of_scope_date"
    assert bench.actual_label("rejected", ["not_enterable", "out_of_scope_date"], want) == want
    assert bench.actual_label("rejected", ["duplicate_exact"], want) == "rejected:duplicate_exact"
    assert bench.actual_label("rejected", [], want) == "rejected"
    assert bench.actual_label("exported", [], want) == "exported"
    assert bench.actual_label("duplicate_suspected", ["duplicate_probable"], "exported") == (
        "duplicate_suspected"
    )


def test_per_record_checks_catch_errors_that_cancel_out_in_the_counts() -> None:
    """A missed duplicate exported and a distinct record held: the counts still agree."""
    expected = bench.Expected(created=10, exported=8, duplicate_suspected=2)
    counts = {"total": 10, "exported": 8, "duplicate_suspected": 2}
    pipeline = {
        "ingest": {"outcomes": {"created": 10}},
        "counts_before": {"reporting": {}, "sandbox": {"records": 0, "duplicate_sources": 0}},
        "counts_after": {"reporting": counts, "sandbox": {"records": 8, "duplicate_sources": 0}},
        "per_record": {
            "records": 10,
            "matching": 8,
            "mismatched": 2,
            "distinct_held_as_suspected": 1,
            "duplicates_exported": 1,
            "sandbox": {"read": True, "held": 8, "missing": 1, "unexpected": 1, "held_twice": 0},
        },
    }
    assert failed_checks(bench.correctness(expected, pipeline)) == {
        "per record: final state as its truth says",
        "per record: distinct records held as suspected duplicates",
        "per record: duplicates exported",
        "per record: sandbox lacks a record reporting says exported",
        "per record: sandbox holds a record reporting does not say exported",
    }


def _state_of(pid: int) -> str:
    """The process's state letter in /proc (``T`` when stopped)."""
    fields = bench.proc_stat(pid)
    assert fields is not None
    return fields[0]


async def test_a_timed_out_run_pauses_the_writing_stages_for_its_checks_and_resumes_them() -> None:
    """The checks of a run stopped by its timeout read one state, not a moving pipeline."""
    import sys

    children = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(60)")
        for _ in "ab"
    ]
    try:
        pids = [c.pid for c in children]
        state = dataclasses.replace(
            state_of("/tmp", {}),
            pids={"dedup": pids[0], "dedup-2": pids[1], "reporting": os.getpid()},
            instances={"dedup": ["dedup", "dedup-2"]},
        )
        assert bench.stage_pids(state, ("validation", "dedup")) == pids
        polls: list[str] = []

        async def settled() -> bool:
            polls.append(",".join(_state_of(p) for p in pids))
            return len(polls) >= 2

        async with bench.paused(pids, settled, within=30.0) as ok:
            assert ok
            assert [_state_of(p) for p in pids] == ["T", "T"]
        assert polls == ["T,T", "T,T"]
        assert all(_state_of(p) != "T" for p in pids)

        # Resumed also when the checks fail, and a reporting that never catches up is said.
        async def never() -> bool:
            return False

        said: list[bool] = []

        async def failing_checks() -> None:
            async with bench.paused(pids, never, within=0.5) as ok:
                said.append(ok)
                raise RuntimeError("a check failed")

        with pytest.raises(RuntimeError):
            await failing_checks()
        assert said == [False]
        assert all(_state_of(p) != "T" for p in pids)
    finally:
        for child in children:
            child.kill()
            await child.wait()

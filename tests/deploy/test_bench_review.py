"""``hotich bench``'s Department review: the verdicts a reviewer with the truth gives."""

from __future__ import annotations

import json
from typing import Any

import httpx

from hotich_local import bench_review


def suspect(record_id: str, *candidates: str) -> dict[str, Any]:
    """A ``GET /v1/duplicates`` item, as much of it as the review reads."""
    return {"record_id": record_id, "candidates": [{"record_id": c} for c in candidates]}


CREATED = {"r-orig": 1, "r-copy": 2, "r-namesake": 3, "r-other": 4, "r-copy2": 5}
GROUPS = {1: 1, 2: 1, 5: 1}  # 1 is the original, 2 and 5 its probable duplicates


def test_a_suspect_with_a_candidate_of_its_group_is_a_duplicate_of_that_candidate() -> None:
    found = bench_review.verdict(suspect("r-copy", "r-other", "r-orig"), CREATED, GROUPS)
    assert found == bench_review.Verdict("r-copy", "duplicate", "r-orig")


def test_the_original_held_after_its_copy_arrived_first_is_the_duplicate() -> None:
    # Clients post concurrently: the copy may be exported first and the original held.
    found = bench_review.verdict(suspect("r-orig", "r-copy"), CREATED, GROUPS)
    assert found == bench_review.Verdict("r-orig", "duplicate", "r-copy")


def test_a_namesake_with_no_candidate_of_its_group_is_distinct() -> None:
    found = bench_review.verdict(suspect("r-namesake", "r-orig"), CREATED, GROUPS)
    assert found == bench_review.Verdict("r-namesake", "distinct")
    # A group member whose candidates are all outside its group is distinct too.
    found = bench_review.verdict(suspect("r-copy2", "r-namesake"), CREATED, GROUPS)
    assert found == bench_review.Verdict("r-copy2", "distinct")


def test_another_runs_suspect_and_candidate_are_not_this_runs() -> None:
    assert bench_review.verdict(suspect("r-elsewhere", "r-orig"), CREATED, GROUPS) is None
    found = bench_review.verdict(suspect("r-copy", "r-elsewhere"), CREATED, GROUPS)
    assert found == bench_review.Verdict("r-copy", "distinct")


def test_after_review_a_probable_duplicate_is_rejected_as_one() -> None:
    labels = [None, "exported", "duplicate_suspected", "rejected:duplicate_exact", None]
    assert bench_review.reviewed_labels(labels) == [
        None,
        "exported",
        "rejected:duplicate_probable",
        "rejected:duplicate_exact",
        None,
    ]


def test_the_checks_after_review_compare_every_figure() -> None:
    outcome = {"suspects": 3, "answers": {"200": 2, "409": 1}}
    records = {
        "records": 10,
        "matching": 9,
        "duplicates_exported": 1,
        "sandbox": {"read": True, "missing": 0, "unexpected": 1, "held_twice": 0},
    }
    rows = bench_review.review_checks(
        7,
        3,
        outcome,
        {"exported": 7, "rejected": 2, "duplicate_suspected": 1},
        {"records": 8},
        records,
    )
    failed = {check for check, want, got in rows if want != got}
    assert failed == {
        "review: suspects resolved (200)",
        "review: resolutions refused or given up",
        "review: sandbox records held (exported)",
        "review: reporting rejected",
        "review: reporting duplicate_suspected",
        "review: per record, final state as its truth says",
        "review: per record, duplicates exported",
        "review: per record, sandbox holds an unexpected record",
    }


def test_a_run_held_short_of_the_truth_is_reviewed_a_moving_one_is_not() -> None:
    # A whole-backlog run ends "stalled": its namesakes wait for the review.
    assert bench_review.reviews_after("complete") is True
    assert bench_review.reviews_after("stalled") is True
    assert bench_review.reviews_after("timeout") is False


async def test_resolutions_retry_a_busy_service_and_count_every_answer() -> None:
    """503 is retried after its Retry-After; other refusals are counted and reported."""
    posted: list[tuple[str, dict[str, Any]]] = []
    busy = {"r-copy": 2}  # dedup answers 503 twice before taking this one

    def answer(request: httpx.Request) -> httpx.Response:
        record_id = request.url.path.split("/")[3]
        posted.append((record_id, json.loads(request.content)))
        if busy.get(record_id, 0) > 0:
            busy[record_id] -= 1
            return httpx.Response(503, headers={"Retry-After": "0"})
        if record_id == "r-gone":
            return httpx.Response(409, json={"detail": "not held"})
        return httpx.Response(200, json={"record_id": record_id})

    verdicts = [
        bench_review.Verdict("r-copy", "duplicate", "r-orig"),
        bench_review.Verdict("r-namesake", "distinct"),
        bench_review.Verdict("r-gone", "distinct"),
    ]
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), base_url="http://dedup"
    ) as client:
        outcome = await bench_review.resolve_all(client, {}, verdicts)

    assert outcome["answers"] == {"200": 2, "409": 1}
    assert outcome["errors"] == ['r-gone: 409 {"detail":"not held"}']
    assert len(outcome["latencies_s"]) == 3  # answered posts only, not the 503s
    assert [r for r, _ in posted].count("r-copy") == 3
    bodies = dict(posted)
    assert bodies["r-copy"] == {
        "resolution": "duplicate",
        "note": "hotich bench",
        "duplicate_of": "r-orig",
    }
    assert bodies["r-namesake"] == {"resolution": "distinct", "note": "hotich bench"}


def _reader(values: list[int]) -> Any:
    """A ``read`` returning ``values`` one call at a time, then the last one for ever."""
    calls = iter(values)
    last = values[-1]

    async def read() -> int:
        return next(calls, last)

    return read


async def test_the_wait_ends_when_the_counts_reach_the_truth() -> None:
    settled, value = await bench_review.wait_settled(
        _reader([1, 2, 3, 4]), lambda v: v == 3, timeout_s=30, quiet_s=30, poll_s=0
    )
    assert (settled, value) == (True, 3)


async def test_counts_that_stop_short_of_the_truth_end_the_wait_unsettled() -> None:
    # An exported duplicate: no resolution withdraws it, the counts stop one short.
    read = _reader([1, 2, 2])
    settled, value = await bench_review.wait_settled(
        read, lambda v: v == 3, timeout_s=30, quiet_s=0.05, poll_s=0.01
    )
    assert (settled, value) == (False, 2)


async def test_counts_still_moving_at_the_timeout_end_the_wait_unsettled() -> None:
    moving = iter(range(10**9))

    async def read() -> int:
        return next(moving)

    settled, value = await bench_review.wait_settled(
        read, lambda v: v < 0, timeout_s=0.05, quiet_s=30, poll_s=0.01
    )
    assert not settled
    assert value > 1  # read more than once, the last value returned

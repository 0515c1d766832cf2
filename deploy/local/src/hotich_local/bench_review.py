"""The Department's review in ``hotich bench``: every suspect of the run resolved through the API.

Dedup holds a probable duplicate for a reviewer (``duplicate_suspected``); so are a few
distinct records it cannot tell from one (namesakes: two couples with the same common
names and birth years). The pipeline's own check compares the run with the generator's
truth as the pipeline leaves it, suspects still held. This stage then does what the
Department does with the review list, through the public API a reviewer uses:

1. ``GET /v1/duplicates`` (status ``open``, every page) as a Department officer;
2. for each suspect of the run, the question a reviewer answers with the paper register
   in hand, *is this record the same event as one of its candidates?*, answered from the
   ground truth: a candidate in the record's truth group (the same entry keyed again or a
   probable duplicate of it) makes it a ``duplicate`` of that candidate, none makes it
   ``distinct``; ``POST /v1/duplicates/{id}/resolve``;
3. waits until reporting counts no suspect of the run and the sandbox holds every
   record the truth says is distinct;
4. the same checks as the pipeline's, against the truth after review: what the truth
   calls accepted is exported, once; a probable duplicate is rejected as one
   (``rejected:duplicate_probable``).

The truth stands in for the reviewer's eyes only. Who is held, what the resolution
publishes, and what the sandbox and reporting end with are the system's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from hotich_contracts.reasons import ReasonCode

Echo = Callable[[str], None]

PAGE = 500
CONCURRENCY = 8
REVIEWED_LABEL = f"rejected:{ReasonCode.DUPLICATE_PROBABLE.value}"
"""A probable duplicate's expected state once a reviewer has resolved it as one."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A reviewer's answer on one suspect."""

    record_id: str
    resolution: str
    duplicate_of: str | None = None


def reviews_after(status: str) -> bool:
    """Whether a run that ended with ``status`` gets the review.

    ``complete``: every count reached the truth's. ``stalled``: nothing moved for the
    settle time with counts short of the truth's, which is how a run holding records for
    review ends (the 37 namesakes of the whole backlog): the pipeline is at rest, and the
    review is what it waits for. Not after ``timeout``: the pipeline is still moving.
    """
    return status in ("complete", "stalled")


def verdict(
    item: dict[str, Any], created: dict[str, int], group_of: dict[int, int]
) -> Verdict | None:
    """What a reviewer who can see the truth answers on a suspect (``GET /v1/duplicates`` item).

    None for a record of another run (not in ``created``). A duplicate names its first
    candidate in the record's truth group.
    """
    seq = created.get(item["record_id"])
    if seq is None:
        return None
    group = group_of.get(seq)
    if group is not None:
        for candidate in item.get("candidates") or ():
            other = created.get(candidate["record_id"])
            if other is not None and group_of.get(other) == group:
                return Verdict(item["record_id"], "duplicate", candidate["record_id"])
    return Verdict(item["record_id"], "distinct")


def reviewed_labels(labels: list[str | None]) -> list[str | None]:
    """The truth's labels once every suspect is resolved as the truth says."""
    return [REVIEWED_LABEL if label == "duplicate_suspected" else label for label in labels]


async def wait_settled(
    read: Callable[[], Awaitable[Any]],
    settled: Callable[[Any], bool],
    *,
    timeout_s: float,
    quiet_s: float,
    poll_s: float = 1.0,
) -> tuple[bool, Any]:
    """Poll ``read`` until ``settled`` says yes, for ``timeout_s`` at most.

    Counts that never reach the truth's (a duplicate the pipeline exported, which no
    resolution withdraws) stop moving: the wait also ends once what ``read`` returns has
    not changed for ``quiet_s``, and the checks then say what differs. Returns whether it
    settled and the last value read.
    """
    deadline = time.monotonic() + timeout_s
    last: Any = None
    last_change = time.monotonic()
    while True:
        value = await read()
        ok = settled(value)
        now = time.monotonic()
        if value != last:
            last, last_change = value, now
        if ok or now > deadline or now - last_change > quiet_s:
            return ok, value
        await asyncio.sleep(poll_s)


async def open_suspects(dedup: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every open suspect in the officer's scope, page by page."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"status": "open", "limit": PAGE}
        if after is not None:
            params["after"] = after
        response = await dedup.get("/v1/duplicates", params=params, headers=headers)
        response.raise_for_status()
        page = response.json()
        items.extend(page["items"])
        after = page["next_after"]
        if after is None:
            return items


async def resolve_all(
    dedup: httpx.AsyncClient, headers: dict[str, str], verdicts: list[Verdict]
) -> dict[str, Any]:
    """Post every verdict (``CONCURRENCY`` at a time, a 503 retried after its Retry-After).

    The answers by status code, the first errors, and each answered post's latency.
    """
    answers: dict[str, int] = {}
    errors: list[str] = []
    latencies: list[float] = []
    gate = asyncio.Semaphore(CONCURRENCY)

    async def post(v: Verdict) -> None:
        body: dict[str, Any] = {"resolution": v.resolution, "note": "hotich bench"}
        if v.duplicate_of is not None:
            body["duplicate_of"] = v.duplicate_of
        async with gate:
            for _ in range(20):
                started = time.monotonic()
                try:
                    response = await dedup.post(
                        f"/v1/duplicates/{v.record_id}/resolve", json=body, headers=headers
                    )
                except httpx.HTTPError as exc:
                    errors.append(f"{v.record_id}: {exc!r}")
                    await asyncio.sleep(1.0)
                    continue
                if response.status_code == 503:
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                latencies.append(time.monotonic() - started)
                key = str(response.status_code)
                answers[key] = answers.get(key, 0) + 1
                if response.status_code != 200:
                    errors.append(f"{v.record_id}: {response.status_code} {response.text[:200]}")
                return
            answers["gave_up"] = answers.get("gave_up", 0) + 1

    await asyncio.gather(*(post(v) for v in verdicts))
    return {"answers": answers, "errors": errors[:10], "latencies_s": latencies}


def review_checks(
    expected_exported: int,
    expected_rejected: int,
    outcome: dict[str, Any],
    rep: dict[str, int],
    sandbox: dict[str, int],
    records: dict[str, Any],
) -> list[tuple[str, int, int]]:
    """(check, expected, actual) rows of the state after the review."""
    answers = outcome["answers"]
    checks = [
        ("review: suspects resolved (200)", outcome["suspects"], answers.get("200", 0)),
        (
            "review: resolutions refused or given up",
            0,
            sum(n for k, n in answers.items() if k != "200"),
        ),
        ("review: sandbox records held (exported)", expected_exported, sandbox.get("records", 0)),
        ("review: sandbox records held twice", 0, sandbox.get("duplicate_sources", 0)),
        ("review: reporting exported", expected_exported, rep.get("exported", 0)),
        ("review: reporting rejected", expected_rejected, rep.get("rejected", 0)),
        ("review: reporting duplicate_suspected", 0, rep.get("duplicate_suspected", 0)),
        (
            "review: per record, final state as its truth says",
            records["records"],
            records["matching"],
        ),
        ("review: per record, duplicates exported", 0, records["duplicates_exported"]),
    ]
    held = records["sandbox"]
    if held.get("read"):
        checks += [
            ("review: per record, sandbox lacks an exported record", 0, held["missing"]),
            ("review: per record, sandbox holds an unexpected record", 0, held["unexpected"]),
            ("review: per record, sandbox holds a record twice", 0, held["held_twice"]),
        ]
    return checks

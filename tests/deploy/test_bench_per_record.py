"""``hotich bench``'s per-record check, on the real store and the sandbox's own file.

The counts of a run can agree while its records do not (a missed duplicate exported and
a distinct record held for review cancel out). The check reads every record's final state
from reporting's projection (as the projection stores it) and the sandbox's holdings, and
compares each record with its own ground truth.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient

from hotich_local import bench, stack
from hotich_national_sandbox.store import SandboxStore
from hotich_reporting.adapters.codec import state_to_doc
from hotich_reporting.domain.lifecycle import RecordFacts, RecordState

pytestmark = pytest.mark.integration

STAMP = "2026-12-07T00:00:00.000000+00:00"


def state(record_id: str, status: str, reasons: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's state document exactly as reporting's projection writes it."""
    return state_to_doc(
        RecordState(
            record_id=record_id,
            unit_code="25456",
            version=1,
            status=status,
            status_key=(3, 1, STAMP, str(uuid.uuid4())),
            phase="2",
            reasons=reasons,
            facts=RecordFacts("birth", None, None),
        )
    )


@pytest.fixture
async def a_run(mongodb_url: str, tmp_path: Path) -> AsyncIterator[stack.StackState]:
    prefix = f"perrec_{uuid.uuid4().hex[:8]}_"
    yield stack.StackState(
        home=str(tmp_path),
        kafka="127.0.0.1:1",
        broker="none",
        broker_version="",
        mongodb_url=mongodb_url,
        store="external",
        urls={},
        pids={},
        intake_database=f"{prefix}intake",
    )
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(mongodb_url)
    await client.drop_database(f"{prefix}reporting")
    client.close()


async def test_each_record_is_compared_with_its_own_truth(
    a_run: stack.StackState, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = bench.Expected(
        labels=[
            None,
            "exported",  # 1: exported, held once: right
            "exported",  # 2: held for review: a distinct record taken for a duplicate
            "duplicate_suspected",  # 3: a probable duplicate of 10, exported too: missed
            "rejected:out_of_scope_date",  # 4: rejected for that reason among others: right
            "exported",  # 5: reporting never saw it
            "exported",  # 6: exported, but the sandbox holds it twice
            "rejected:duplicate_exact",  # 7: alone, rejected for another reason
            "exported",  # 8: an original whose copy (9) came first: swapped, right
            "rejected:duplicate_exact",  # 9
            "exported",  # 10
        ],
        group_of={8: 8, 9: 8, 10: 10, 3: 10},
    )
    created = {f"rec-{n}": n for n in range(1, 11)}
    url, database = bench.reporting_database(a_run)
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(url)
    await client[database]["records"].insert_many(
        [
            state("rec-1", "exported"),
            state("rec-2", "duplicate_suspected", ("duplicate_probable",)),
            state("rec-3", "exported"),
            state("rec-4", "rejected", ("not_enterable", "out_of_scope_date")),
            state("rec-6", "exported"),
            state("rec-7", "rejected", ("out_of_scope_type",)),
            state("rec-8", "rejected", ("duplicate_exact",)),
            state("rec-9", "exported"),
            state("rec-10", "exported"),
            state("another-run", "exported"),
        ]
    )
    client.close()
    (Path(a_run.home) / "data").mkdir()
    sandbox = SandboxStore(str(Path(a_run.home) / "data" / "national_sandbox.sqlite3"))
    held = ("rec-1", "rec-2", "rec-3", "rec-6", "rec-6", "rec-9", "another-run")
    for n, source in enumerate(held):
        sandbox.create(
            f"k{n}",
            {"unit_code": "25456", "source_record_id": source, "source_version": 1, "record": {}},
        )

    result = await bench.per_record(a_run, expected, created)

    assert result["records"] == 10
    assert result["found_in_reporting"] == 9
    assert result["duplicate_groups"] == 2
    assert result["mismatched"] == 4  # 2, 5, 7 and group (3, 10)
    assert result["matching"] == 6
    assert result["distinct_held_as_suspected"] == 1
    assert result["duplicates_exported"] == 1
    assert result["matrix"] == {
        "exported": {"exported": 4, "duplicate_suspected": 1, "missing": 1},
        "duplicate_suspected": {"exported": 1},
        "rejected:out_of_scope_date": {"rejected:out_of_scope_date": 1},
        "rejected:duplicate_exact": {
            "rejected:out_of_scope_type": 1,
            "rejected:duplicate_exact": 1,
        },
    }
    assert result["sandbox"] == {
        "read": True,
        "held": 5,  # of this run's records
        "missing": 1,  # rec-10: exported in reporting, not in the sandbox
        "unexpected": 1,  # rec-2: held for review in reporting, yet in the sandbox
        "held_twice": 1,  # rec-6
    }
    wrong = [
        (e.get("record_id"), e.get("group"), e["expected"], e["actual"]) for e in result["examples"]
    ]
    assert sorted(wrong, key=str) == sorted(
        [
            ("rec-2", None, "exported", "duplicate_suspected"),
            ("rec-5", None, "exported", "missing"),
            ("rec-7", None, "rejected:duplicate_exact", "rejected:out_of_scope_type"),
            (None, ["rec-3", "rec-10"], "duplicate_suspected", "exported"),
        ],
        key=str,
    )
    # Examples are capped per kind: 37 false alarms cannot hide 2 missed duplicates.
    monkeypatch.setattr(bench, "PER_RECORD_EXAMPLES", 1)
    capped = await bench.per_record(a_run, expected, created)
    assert sorted((e["expected"], e["actual"]) for e in capped["examples"]) == sorted(
        (want, got) for _, _, want, got in wrong
    )
    checks = bench.correctness(
        bench.Expected(created=10),
        {
            "ingest": {"outcomes": {"created": 10}},
            "counts_before": {"reporting": {}, "sandbox": {}},
            "counts_after": {"reporting": {}, "sandbox": {}},
            "per_record": result,
        },
    )
    failed = {r["check"] for r in checks["checks"] if not r["ok"] and r["check"].startswith("per")}
    assert failed == {
        "per record: final state as its truth says",
        "per record: distinct records held as suspected duplicates",
        "per record: duplicates exported",
        "per record: sandbox lacks a record reporting says exported",
        "per record: sandbox holds a record reporting does not say exported",
        "per record: sandbox holds a record twice",
    }


async def test_without_the_sandboxs_file_the_sandbox_is_not_judged(
    a_run: stack.StackState,
) -> None:
    expected = bench.Expected(labels=[None, "exported"])
    url, database = bench.reporting_database(a_run)
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(url)
    await client[database]["records"].insert_one(state("rec-1", "exported"))
    client.close()
    result = await bench.per_record(a_run, expected, {"rec-1": 1})
    assert result["matching"] == 1
    assert result["sandbox"] == {"read": False}

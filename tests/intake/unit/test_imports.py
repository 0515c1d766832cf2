"""The import pipeline: chunks in flight land in line order; a failure commits no line
after it, and a resume or a resend creates nothing twice."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from hotich_contracts import topics
from hotich_contracts.envelope import EventBase
from hotich_contracts.examples import example_record
from hotich_contracts.records import RecordType
from hotich_intake.adapters.memory import InMemoryImportJobs, InMemoryRecordStore
from hotich_intake.service_layer import imports
from hotich_intake.service_layer.imports import ndjson_lines, run_import
from hotich_runtime.auth import Principal, Role
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import FakePublisher

OPERATOR = Principal("migrator", "72", Role.MIGRATION_OPERATOR)


class SlowPublisher(FakePublisher):
    """Acknowledges after a random delay, so chunks in flight finish out of order;
    refuses every call from ``fail_from`` on (Kafka down)."""

    def __init__(self, *, fail_from: int | None = None, seed: int = 7) -> None:
        super().__init__()
        self.calls = 0
        self.fail_from = fail_from
        self.third_call = asyncio.Event()
        self._random = random.Random(seed)

    async def publish(self, topic: str, events: Sequence[EventBase]) -> None:
        self.calls += 1
        call = self.calls
        if call >= 3:
            self.third_call.set()
        await asyncio.sleep(self._random.uniform(0, 0.01))
        if self.fail_from is not None and call >= self.fail_from:
            raise RetryableError("kafka down")
        await super().publish(topic, events)


def ndjson(n: int, *, bad_every: int = 0) -> list[bytes]:
    lines = []
    for i in range(1, n + 1):
        if bad_every and i % bad_every == 0:
            lines.append(b'{"record_type": "birth", "broken": ')
        else:
            body = example_record(RecordType.BIRTH, entry_number=str(i), source="migration")
            lines.append(json.dumps(body).encode())
    return lines


async def stream(lines: list[bytes]) -> AsyncIterator[bytes]:
    for line in lines:
        yield line


async def run(
    store: InMemoryRecordStore,
    jobs: InMemoryImportJobs,
    pub: FakePublisher,
    lines: list[bytes],
    *,
    job: str,
    resume: int = 0,
    in_flight: int = 3,
) -> Any:
    return await run_import(
        store,
        jobs,
        pub,
        OPERATOR,
        stream(lines),
        job_id=job,
        resume_from_line=resume,
        chunk_size=10,
        correlation_id="c",
        in_flight=in_flight,
    )


async def test_chunks_in_flight_land_in_order_with_every_line_counted() -> None:
    store, jobs, pub = InMemoryRecordStore(), InMemoryImportJobs(), SlowPublisher()
    lines = ndjson(95, bad_every=9)
    summary = await run(store, jobs, pub, lines, job="j")
    bad = 95 // 9
    assert summary.status == "completed"
    assert summary.lines_committed == 95
    assert summary.submitted == 95 - bad
    assert summary.error_count == bad
    assert [e["line"] for e in summary.errors] == [9 * k for k in range(1, bad + 1)]
    [broken] = summary.errors[0]["errors"]
    assert broken["code"] == "json_invalid"
    assert "Expecting value" in broken["message_en"]  # the JSON decoder's own words
    assert summary.errors[0]["message_vi"]
    job = jobs.jobs["j"]
    assert (job["lines_committed"], job["submitted"], job["status"]) == (95, 95 - bad, "completed")
    events = pub.events(topics.RECORD_ENTERED)
    assert len(events) == len({e.record_id for e in events}) == 95 - bad


async def test_a_failed_chunk_commits_no_line_after_it_and_the_resume_doubles_nothing() -> None:
    store, jobs = InMemoryRecordStore(), InMemoryImportJobs()
    lines = ndjson(100)
    failing = SlowPublisher(fail_from=4)  # chunks 1-3 acknowledged, the rest refused
    with pytest.raises(RetryableError):
        await run(store, jobs, failing, lines, job="j")
    job = jobs.jobs["j"]
    assert job["status"] == "interrupted"
    assert job["lines_committed"] == 30
    acknowledged = {e.record_id for e in failing.events(topics.RECORD_ENTERED)}
    assert len(acknowledged) == 30

    pub = FakePublisher()
    resumed = await run(store, jobs, pub, lines, job="j2", resume=job["lines_committed"])
    assert resumed.status == "completed"
    assert resumed.lines_committed == 100
    # chunk 4 failed with 5 and 6 in flight: their 30 lines were stored but never
    # acknowledged, so they are repeats whose waiting events go out now; 7-10 are new
    assert (resumed.repeated, resumed.submitted) == (30, 40)
    republished = {e.record_id for e in pub.events(topics.RECORD_ENTERED)}
    assert len(republished) == 70
    assert republished.isdisjoint(acknowledged)
    assert store.outbox == {}

    # the whole file again: every line is a repeat and nothing more is created
    again = await run(store, jobs, FakePublisher(), lines, job="j3")
    assert (again.submitted, again.repeated) == (0, 100)
    assert len(store.views) == 100


async def test_one_chunk_at_a_time_gives_the_same_result() -> None:
    outcomes = []
    for in_flight in (1, 4):
        store, jobs, pub = InMemoryRecordStore(), InMemoryImportJobs(), SlowPublisher()
        summary = await run(store, jobs, pub, ndjson(57, bad_every=5), job="j", in_flight=in_flight)
        ids = sorted(e.record_id for e in pub.events(topics.RECORD_ENTERED))
        outcomes.append((summary.lines_committed, summary.submitted, summary.error_count, ids))
    assert outcomes[0] == outcomes[1]


async def test_a_json_line_that_is_no_record_gets_field_level_reasons() -> None:
    store, jobs, pub = InMemoryRecordStore(), InMemoryImportJobs(), FakePublisher()
    lines = [*ndjson(3), json.dumps({"record_type": "birth"}).encode()]
    summary = await run(store, jobs, pub, lines, job="j")
    [error] = summary.errors
    assert error["line"] == 4
    fields = {e["field"] for e in error["errors"]}
    assert {"birth.book_number", "birth.entry_number"} <= fields
    assert summary.submitted == 3


class FlakyJobs(InMemoryImportJobs):
    """Refuses the ``fail_at``-th progress write (the store went away)."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.calls = 0
        self.fail_at = fail_at

    async def progress(self, job_id: str, **counts: Any) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RetryableError("store down")
        await super().progress(job_id, **counts)


async def test_a_failed_progress_write_counts_nothing_after_it() -> None:
    store, jobs, pub = InMemoryRecordStore(), FlakyJobs(fail_at=2), SlowPublisher()
    lines = ndjson(60)
    with pytest.raises(RetryableError):
        await run(store, jobs, pub, lines, job="j")
    job = jobs.jobs["j"]
    assert (job["lines_committed"], job["status"]) == (10, "interrupted")
    resumed = await run(store, InMemoryImportJobs(), FakePublisher(), lines, job="j2", resume=10)
    assert resumed.lines_committed == 60
    assert resumed.submitted + resumed.repeated == 50
    assert len(store.views) == 60


async def test_a_cancelled_import_leaves_no_chunk_running() -> None:
    store, jobs = InMemoryRecordStore(), InMemoryImportJobs()
    pub = SlowPublisher()
    # Tasks other tests' fixtures left on a shared loop are not this import's.
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(run(store, jobs, pub, ndjson(200), job="j", in_flight=4))
    await asyncio.wait_for(pub.third_call.wait(), timeout=10)
    started = asyncio.all_tasks() - before - {task}
    assert started  # the import's chunks run as tasks of their own
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not [t for t in asyncio.all_tasks() - before if not t.done()]
    assert jobs.jobs["j"]["status"] == "interrupted"
    # whatever was stored is found again by a resend
    again = await run(store, InMemoryImportJobs(), FakePublisher(), ndjson(200), job="j2")
    assert again.submitted + again.repeated == 200


@pytest.mark.parametrize("size", [1, 7, 64, 4096])
async def test_lines_are_the_same_however_the_stream_is_cut(size: int) -> None:
    body = b'{"a": 1}\n\n{"b": "x y"}\r\n' + b"z" * 300 + b"\n" + b'{"last": true}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start : start + size]

    got = [line async for line in ndjson_lines(chunks())]
    assert got == [b'{"a": 1}', b"", b'{"b": "x y"}\r', b"z" * 300, b'{"last": true}']


async def test_a_line_over_the_limit_is_handed_on_in_pieces_not_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imports, "MAX_LINE_BYTES", 10)

    async def chunks() -> AsyncIterator[bytes]:
        for piece in (b"0123456", b"789abcdef", b"gh\nok\n"):
            yield piece

    got = [line async for line in ndjson_lines(chunks())]
    assert got == [b"0123456789abcdef", b"gh", b"ok"]

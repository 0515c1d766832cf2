"""Bulk import of NDJSON (migration track): streamed, chunked, resumable."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hotich_contracts.envelope import utcnow
from hotich_contracts.records import RECORD_ADAPTER
from hotich_intake.service_layer.ports import ImportJobs, RecordStore
from hotich_intake.service_layer.records import ItemResult, Submission, submit_records
from hotich_runtime.auth import Principal
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import Publisher

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 1024 * 1024
DEFAULT_IN_FLIGHT = 3
"""Chunks submitted at once by default (parsing goes on meanwhile)."""


@dataclass
class ImportSummary:
    """Counts of one import request."""

    job_id: str
    lines_read: int = 0
    lines_committed: int = 0
    submitted: int = 0
    repeated: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    status: str = "running"


async def ndjson_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Split a byte stream into lines without holding more than one line in memory."""
    buffer = b""
    async for chunk in chunks:
        if b"\n" in chunk:
            # One split per chunk: slicing each line off the buffer copied the rest of it.
            *complete, rest = (buffer + chunk).split(b"\n")
            for line in complete:
                yield line
            buffer = rest
        else:
            buffer += chunk
        if len(buffer) > MAX_LINE_BYTES:
            yield buffer  # reported as an error: a line this long is not a record
            buffer = b""
    if buffer.strip():
        yield buffer


def _json_error(raw: bytes) -> ValueError | None:
    """The JSON decoder's error for a line that is not JSON (clearer than pydantic's)."""
    try:
        json.loads(raw)
    except ValueError as exc:
        return exc
    return None


def _line_error(number: int, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "code": e["type"], "message_en": e["msg"]}
            for e in exc.errors()[:20]
        ]
    else:
        errors = [{"field": "", "code": "json_invalid", "message_en": str(exc)[:200]}]
    return {
        "line": number,
        "message_vi": "Dòng không đúng cấu trúc hồ sơ.",
        "message_en": "The line is not a well-formed record.",
        "errors": errors,
    }


@dataclass
class _Chunk:
    """Lines handed to :func:`submit_records`, in flight, with their parse errors."""

    lines: int
    errors: list[dict[str, Any]]
    submitting: asyncio.Task[list[ItemResult]]


async def run_import(
    store: RecordStore,
    jobs: ImportJobs,
    publisher: Publisher,
    principal: Principal,
    lines: AsyncIterable[bytes],
    *,
    job_id: str,
    resume_from_line: int,
    chunk_size: int,
    correlation_id: str,
    in_flight: int = DEFAULT_IN_FLIGHT,
) -> ImportSummary:
    """Import records line by line, committing every ``chunk_size`` lines.

    Up to ``in_flight`` chunks are submitted at once (stored, then handed to Kafka)
    while the next lines are parsed, but the job's ``lines_committed`` moves on in line
    order, only over chunks Kafka acknowledged. Every line is deduplicated by its
    register coordinates: resending the whole file, or resuming from
    ``lines_committed`` after a crash or a dropped connection, creates no second record
    (a chunk acknowledged after a failed one is recognised as repeated). Malformed lines
    are reported per line and the rest goes on.
    """
    await jobs.create(job_id, principal.username, principal.unit_code, utcnow())
    summary = ImportSummary(job_id)
    flying: deque[_Chunk] = deque()
    batch: list[Submission] = []
    batch_errors: list[dict[str, Any]] = []
    batch_lines = 0

    def launch() -> None:
        nonlocal batch, batch_errors, batch_lines
        submitting = asyncio.ensure_future(
            submit_records(store, publisher, principal, batch, correlation_id=correlation_id)
        )
        flying.append(_Chunk(batch_lines, batch_errors, submitting))
        batch, batch_errors, batch_lines = [], [], 0

    async def land() -> None:
        """Wait for the oldest chunk in flight and record it (chunks land in order)."""
        chunk = flying[0]
        results = await chunk.submitting
        flying.popleft()
        errors = chunk.errors
        for result in results:
            if result.outcome == "created":
                summary.submitted += 1
            elif result.outcome == "repeated":
                summary.repeated += 1
            else:
                errors.append(
                    {
                        "line": None,
                        "record_id": result.record_id,
                        "outcome": result.outcome,
                        "message_vi": result.message_vi,
                        "message_en": result.message_en,
                    }
                )
        await jobs.progress(
            job_id,
            lines=chunk.lines,
            submitted=sum(r.outcome == "created" for r in results),
            repeated=sum(r.outcome == "repeated" for r in results),
            errors=errors,
            error_count=len(errors),
        )
        summary.lines_committed += chunk.lines
        summary.error_count += len(errors)
        summary.errors.extend(errors[: max(0, 100 - len(summary.errors))])

    try:
        async for raw in lines:
            summary.lines_read += 1
            number = summary.lines_read
            if number <= resume_from_line:
                continue
            batch_lines += 1
            if not raw.strip():
                continue
            try:
                record = RECORD_ADAPTER.validate_json(raw)
            except ValidationError as exc:
                batch_errors.append(_line_error(number, _json_error(raw) or exc))
                continue
            batch.append(Submission(record))
            if batch_lines >= chunk_size:
                while len(flying) >= max(1, in_flight):
                    await land()
                launch()
        if batch_lines:
            while len(flying) >= max(1, in_flight):
                await land()
            launch()
        while flying:
            await land()
    except BaseException:
        # Nothing after a failed chunk is counted: a resume sends those lines again and
        # they are recognised (repeated) if they were stored meanwhile.
        await _settle(flying)
        with contextlib.suppress(Exception):  # the store may be what failed
            await jobs.finish(job_id, "interrupted", utcnow())
        summary.status = "interrupted"
        raise
    await jobs.finish(job_id, "completed", utcnow())
    summary.status = "completed"
    summary.lines_committed += resume_from_line
    return summary


async def _settle(flying: deque[_Chunk]) -> None:
    """Let the chunks still in flight after a failure end, uncounted.

    Their records are stored and published, or waiting in the outbox for the relay: a
    resend or a resume finds them by their register coordinates.
    """
    chunks = list(flying)
    flying.clear()
    outcomes = await asyncio.gather(*(c.submitting for c in chunks), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception) and not isinstance(outcome, RetryableError):
            log.warning("import chunk failed after an earlier one", exc_info=outcome)

"""A generated set of registers turned into lifecycle events, with the outcome intended
for every record, and the report numbers computed from those intentions alone.

The events are what the pipeline would publish for the generated items (contract
models, real record payloads), plus the awkward cases: corrections (version 2),
suspected duplicates resolved by a reviewer, export failures, late entries and records
still waiting for validation. :func:`expected_cells` and friends compute the numbers a
report must show straight from the intentions, independently of the projection code.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from hotich_contracts import topics
from hotich_contracts.envelope import EventBase
from hotich_contracts.events import (
    RecordDeduplicated,
    RecordDeduplicatedPayload,
    RecordEntered,
    RecordEnteredPayload,
    RecordExported,
    RecordExportedPayload,
    RecordStatus,
    RecordValidated,
    RecordValidatedPayload,
)
from hotich_contracts.reasons import Reason, ReasonCode
from hotich_contracts.records import RECORD_ADAPTER
from hotich_local.synth import GenerationConfig, Item, SurveyRow, generate, survey_rows

NAMESPACE = uuid.UUID("0b3f2d63-7a52-4f0e-8d4c-2b2f2a7a1c01")
ACCOUNTED = {
    "not_enterable",
    "out_of_scope_type",
    "out_of_scope_date",
    "marital_status_not_for_marriage",
}
CLERK_ERRORS = {"wrong_entering_unit"}


def _reason(code: str) -> Reason:
    return Reason(code=ReasonCode(code), message_vi=code, message_en=code)


@dataclass
class Final:
    """What should become of one record (its last version)."""

    record_id: str
    unit: str
    record_type: str
    bucket: str
    status: str
    rejected_at: str | None = None  # "validation" or "dedup"
    reasons: tuple[str, ...] = ()
    late: bool = False
    not_enterable: bool = False
    book_id: str = ""
    entry_number: int | None = None


@dataclass
class Scenario:
    """Events per topic and the intended outcome of every posted record."""

    items: list[Item]
    survey: list[SurveyRow]
    events: dict[str, list[EventBase]] = field(default_factory=dict)
    finals: dict[str, Final] = field(default_factory=dict)

    def all_events(self) -> list[tuple[str, EventBase]]:
        """Every (topic, event)."""
        return [(t, e) for t, events in self.events.items() for e in events]


def config(total: int = 2500, seed: int = 7, units: tuple[str, ...] = ("705",)) -> GenerationConfig:
    return GenerationConfig(total=total, seed=seed, units=units, province_level=0)


def build(cfg: GenerationConfig, *, seed: str = "scenario") -> Scenario:
    items = list(generate(cfg))
    scenario = Scenario(items=items, survey=list(survey_rows(cfg)))
    scenario.events = {t: [] for t in topics.RECORD_TOPICS}
    start = datetime(2020, 3, 1, tzinfo=UTC)
    for index, item in enumerate(items):
        if not item["truth"]["malformed"]:  # malformed: refused with 422 at intake
            _post(scenario, item, start + timedelta(seconds=10 * index), seed)
    return scenario


def _post(scenario: Scenario, item: Item, at: datetime, seed: str) -> None:
    """The events of one item, and its intended outcome."""
    events = scenario.events
    truth = item["truth"]
    record = RECORD_ADAPTER.validate_python(item["record"])
    rng = Random(f"{seed}:{truth['id']}")
    record_id = str(uuid.uuid5(NAMESPACE, truth["id"]))
    unit = truth["entering_unit_code"]
    entry_text = item["record"]["entry_number"].split("/")[0]
    final = Final(
        record_id=record_id,
        unit=unit,
        record_type=truth["record_type"],
        bucket="pending",
        status="received",
        book_id=truth["book_id"],
        entry_number=int(entry_text) if entry_text.isdigit() else None,
    )
    scenario.finals[record_id] = final
    phase = truth["phase"]
    version = 1

    def envelope(version: int, stage: str, offset: int) -> dict[str, Any]:
        return {
            "event_id": uuid.uuid5(NAMESPACE, f"{record_id}:{version}:{stage}"),
            "occurred_at": at + timedelta(seconds=offset),
            "actor": "test",
            "correlation_id": record_id,
            "record_id": record_id,
            "record_version": version,
            "unit_code": unit,
        }

    def dedup(status: RecordStatus, codes: list[str], stage: str, offset: int) -> None:
        events[topics.RECORD_DEDUPLICATED].append(
            RecordDeduplicated(
                **envelope(version, stage, offset),
                payload=RecordDeduplicatedPayload(
                    status=status, phase=phase, reasons=[_reason(c) for c in codes], record=record
                ),
            )
        )

    events[topics.RECORD_ENTERED].append(
        RecordEntered(**envelope(1, "entered", 0), payload=RecordEnteredPayload(record=record))
    )
    if rng.random() < 0.01:
        return  # waiting for validation
    reasons = [r for r in truth["reasons"] if r != "duplicate_exact"]
    if reasons and set(reasons) <= CLERK_ERRORS and rng.random() < 0.6:
        events[topics.RECORD_VALIDATED].append(
            RecordValidated(
                **envelope(1, "validated", 1),
                payload=RecordValidatedPayload(
                    status=RecordStatus.REJECTED,
                    phase=phase,
                    reasons=[_reason(r) for r in reasons],
                    record=record,
                ),
            )
        )
        version = 2  # the clerk's unit corrects it: a new version, now valid
        events[topics.RECORD_ENTERED].append(
            RecordEntered(**envelope(2, "entered", 5), payload=RecordEnteredPayload(record=record))
        )
        reasons = []
    valid = not reasons
    late = valid and phase is not None and rng.random() < 0.05
    not_enterable = "not_enterable" in reasons
    events[topics.RECORD_VALIDATED].append(
        RecordValidated(
            **envelope(version, "validated", 6),
            payload=RecordValidatedPayload(
                status=RecordStatus.VALID if valid else RecordStatus.REJECTED,
                phase=phase,
                late=late,
                not_enterable=not_enterable,
                reasons=[_reason(r) for r in reasons],
                record=record,
            ),
        )
    )
    final.bucket = str(phase) if phase is not None else "none"
    final.late = late
    final.not_enterable = not_enterable
    if not valid:
        final.status, final.rejected_at, final.reasons = "rejected", "validation", tuple(reasons)
        return
    if truth["duplicate_kind"] == "exact":
        dedup(RecordStatus.REJECTED, ["duplicate_exact"], "deduplicated", 7)
        final.status, final.rejected_at, final.reasons = "rejected", "dedup", ("duplicate_exact",)
        return
    if truth["final_status"] == "duplicate_suspected":
        dedup(RecordStatus.DUPLICATE_SUSPECTED, [], "deduplicated", 7)
        decision = rng.random()
        if decision < 0.35:
            final.status = "duplicate_suspected"
            return
        if decision < 0.7:
            dedup(RecordStatus.REJECTED, ["duplicate_probable"], "reviewed", 20)
            final.status, final.rejected_at = "rejected", "dedup"
            final.reasons = ("duplicate_probable",)
            return
        dedup(RecordStatus.ACCEPTED, [], "reviewed", 20)
    else:
        dedup(RecordStatus.ACCEPTED, [], "deduplicated", 7)
    failed = rng.random() < 0.03
    events[topics.RECORD_EXPORTED].append(
        RecordExported(
            **envelope(version, "exported", 30),
            payload=RecordExportedPayload(
                status=RecordStatus.EXPORT_FAILED if failed else RecordStatus.EXPORTED,
                phase=phase,
                national_id=None if failed else f"VN-{record_id[:8]}",
                attempts=1,
                reasons=[_reason("national_rejected")] if failed else [],
            ),
        )
    )
    final.status = "export_failed" if failed else "exported"
    final.reasons = ("national_rejected",) if failed else ()


def record_metrics(final: Final) -> list[str]:
    """The counters a record's intended outcome adds one to (the definitions in the README)."""
    names = ["entered"]
    passed = final.status != "received" and final.rejected_at != "validation"
    if passed:
        names.append("valid")
    if final.status == "received":
        names.append("pending")
    if final.status == "rejected":
        names.append("rejected")
        names += [f"r_{c}" for c in set(final.reasons)]
        if final.not_enterable:
            names.append("not_enterable")
        if final.rejected_at == "dedup":
            names.append("duplicate_confirmed")
    if final.status == "duplicate_suspected":
        names.append("duplicate_suspected")
    if final.status in ("exported", "export_failed"):
        names += ["accepted", final.status]
    if final.late and passed:
        names.append("late")
    return names


def expected_cells(finals: Iterable[Final]) -> dict[tuple[str, str, str], Counter[str]]:
    """(bucket, unit, type) -> counters, from the intended outcomes."""
    cells: dict[tuple[str, str, str], Counter[str]] = {}
    for final in finals:
        key = (final.bucket, final.unit, final.record_type)
        cells.setdefault(key, Counter()).update(record_metrics(final))
    return cells


def book_unit(row: SurveyRow) -> str:
    return row.unit_code if row.registering_authority_known else row.storing_unit_code


def expected_surveyed(scenario: Scenario) -> Counter[tuple[str, str]]:
    """(phase bucket, unit) -> expected entries, placing each book by its items' truth.

    A book goes to the phase the generator gave its entries (the majority; entries whose
    phase says nothing of the book are left out: malformed ones, and certificates for
    another purpose than marriage). A book with no such entry is placed like the others
    of its type and year (the scenario is one district: one group).
    """
    votes: dict[str, Counter[str]] = {}
    by_year: dict[tuple[str, int], Counter[str]] = {}
    for item in scenario.items:
        truth = item["truth"]
        if (
            truth["source"] == "manual"
            and truth["duplicate_kind"] != "exact"
            and not truth["malformed"]
            and "marital_status_other" not in truth["noise"]
        ):
            phase = truth["phase"]
            label = str(phase) if phase is not None else "none"
            votes.setdefault(truth["book_id"], Counter())[label] += 1
            year = int(truth["book_id"].split("/")[2])
            by_year.setdefault((truth["record_type"], year), Counter())[label] += 1
    surveyed: Counter[tuple[str, str]] = Counter()
    for row in scenario.survey:
        counts = votes.get(row.book_id) or by_year.get((row.record_type, row.year_from))
        manual = row.entries - row.migrated_entries
        if manual:
            assert counts, row.book_id
            best = max(counts.values())
            phase = min(p for p, n in counts.items() if n == best)
            surveyed[(phase, book_unit(row))] += manual
        if row.migrated_entries:
            surveyed[("migration", book_unit(row))] += row.migrated_entries
    return surveyed


def accounted_numbers(scenario: Scenario) -> dict[str, set[int]]:
    """book id -> entry numbers accounted for by a posted record's intended outcome."""
    found: dict[str, set[int]] = {}
    for final in scenario.finals.values():
        if final.entry_number is None:
            continue
        if final.status != "rejected" or (
            ACCOUNTED.intersection(final.reasons) and final.rejected_at == "validation"
        ):
            found.setdefault(final.book_id, set()).add(final.entry_number)
    return found


METRICS = (
    "surveyed", "entered", "pending", "valid", "rejected", "not_enterable",
    "duplicate_suspected", "duplicate_confirmed", "accepted", "exported", "export_failed", "late",
)  # fmt: skip


def expected_units(scenario: Scenario, phase: str) -> dict[str, Counter[str]]:
    """unit -> counters of ``phase`` ("all" for every bucket), each unit with its subtree."""
    from hotich_contracts.units import default_registry

    registry = default_registry()
    own: dict[str, Counter[str]] = {}
    for (bucket, unit, _), counts in expected_cells(scenario.finals.values()).items():
        if phase in ("all", bucket):
            own.setdefault(unit, Counter()).update(counts)
    for (bucket, unit), n in expected_surveyed(scenario).items():
        if phase in ("all", bucket):
            own.setdefault(unit, Counter())["surveyed"] += n
    tree: dict[str, Counter[str]] = {}
    for unit, counts in own.items():
        code: str | None = unit
        while code is not None:
            tree.setdefault(code, Counter()).update(counts)
            parent = registry.get(code)
            code = parent.parent_code if parent is not None else None
    return tree


def as_report_row(counts: Counter[str]) -> dict[str, Any]:
    """The expected counters in the shape of a report row."""
    row: dict[str, Any] = {m: counts.get(m, 0) for m in METRICS}
    row["rejected_by_reason"] = {
        k[2:]: v for k, v in sorted(counts.items()) if k.startswith("r_") and v
    }
    return row


def report_row(row: dict[str, Any]) -> dict[str, Any]:
    """The same fields of a report row from the API."""
    return {m: row[m] for m in (*METRICS, "rejected_by_reason")}


def survey_csv(scenario: Scenario) -> bytes:
    """The survey as ``hotich generate --survey`` writes it."""
    import csv
    import io

    from hotich_local.synth.survey import SURVEY_COLUMNS

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SURVEY_COLUMNS)
    writer.writerows(row.as_csv_row() for row in scenario.survey)
    return buffer.getvalue().encode("utf-8")

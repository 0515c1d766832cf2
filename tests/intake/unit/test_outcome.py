"""The status view's compact decoding (``Outcome``) folds exactly as the contract's events.

The view reads the three outcome topics as :class:`~hotich_intake.domain.model.Outcome`
(envelope and outcome, not the record each event carries). What it writes must be what
the contract's models gave: same history entries, same status moves, including the two
same-stage replacements (a reviewer's resolution over a suspicion, a redriven export
over a failure).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from hotich_contracts.envelope import RecordEventBase
from hotich_contracts.events import (
    DuplicateResolution,
    DuplicateReview,
    RecordDeduplicated,
    RecordDeduplicatedPayload,
    RecordExported,
    RecordExportedPayload,
    RecordStatus,
)
from hotich_contracts.reasons import Reason, ReasonCode
from hotich_intake.adapters.mongo_store import _fold
from hotich_intake.bootstrap import entered_ms, status_view_subscription
from hotich_intake.config import IntakeSettings
from hotich_intake.domain.model import Outcome
from tests.factories import record, validated

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def _lifecycle(record_id: str) -> list[RecordEventBase]:
    """Validated (with a warning), suspected, resolved distinct, failed, redriven."""
    rec = record()
    base = {"actor": "service:test", "correlation_id": "c-1", "record_id": record_id}
    base |= {"record_version": 1, "unit_code": "25459"}
    warning = Reason(code=ReasonCode.LATE_ENTRY, message_vi="Nhập muộn.", message_en="Late.")
    valid = validated(rec, record_id=record_id)
    valid = valid.model_copy(
        update={"payload": valid.payload.model_copy(update={"warnings": [warning]})}
    )
    suspected = RecordDeduplicated(
        **base,
        occurred_at=T0 + timedelta(minutes=1),
        payload=RecordDeduplicatedPayload(
            status=RecordStatus.DUPLICATE_SUSPECTED, phase=1, record=rec
        ),
    )
    resolved = RecordDeduplicated(
        **base,
        occurred_at=T0 + timedelta(minutes=2),
        payload=RecordDeduplicatedPayload(
            status=RecordStatus.ACCEPTED,
            phase=1,
            record=rec,
            review=DuplicateReview(
                resolution=DuplicateResolution.DISTINCT,
                reviewer="district1",
                reviewer_unit_code="25457",
                resolved_at=T0 + timedelta(minutes=2),
            ),
        ),
    )
    failed = RecordExported(
        **base,
        occurred_at=T0 + timedelta(minutes=3),
        payload=RecordExportedPayload(
            status=RecordStatus.EXPORT_FAILED,
            phase=1,
            attempts=8,
            reasons=[
                Reason(
                    code=ReasonCode.NATIONAL_REJECTED,
                    message_vi="CSDL quốc gia từ chối.",
                    message_en="The national database refused it.",
                )
            ],
        ),
    )
    redriven = RecordExported(
        **base,
        occurred_at=T0 + timedelta(minutes=30),
        payload=RecordExportedPayload(
            status=RecordStatus.EXPORTED, phase=1, national_id="VN-25-0000000042", attempts=1
        ),
    )
    return [valid, suspected, resolved, failed, redriven]


def _received(record_id: str) -> dict[str, Any]:
    return {
        "_id": record_id,
        "status": "received",
        "status_version": 1,
        "status_rank": 0,
        "history": [],
    }


def _without_clock(update: Any) -> dict[str, Any]:
    doc = dict(update._doc)
    doc.get("$set", {}).pop("updated_at", None)
    return {"filter": update._filter, "update": doc}


@pytest.mark.parametrize("split", [1, 2, 3, 5])
def test_outcomes_fold_as_the_contract_events_whole_or_in_parts(split: int) -> None:
    record_id = str(uuid.uuid4())
    events = _lifecycle(record_id)
    outcomes = [Outcome.model_validate_json(e.model_dump_json()) for e in events]
    doc_full, doc_view = _received(record_id), _received(record_id)
    for start in range(0, len(events), split):
        full = _fold(doc_full, events[start : start + split])
        view = _fold(doc_view, outcomes[start : start + split])
        assert full is not None
        assert view is not None
        assert _without_clock(view) == _without_clock(full)
        # Carry the written state forward as the store would hold it.
        for doc, update in ((doc_full, full), (doc_view, view)):
            doc.update(update._doc.get("$set", {}))
            doc["history"] = doc["history"] + update._doc["$push"]["history"]["$each"]
    assert doc_view["status"] == "exported"
    assert doc_view["national_id"] == "VN-25-0000000042"
    assert doc_view["reasons"] == []
    assert [h["status"] for h in doc_view["history"]] == [
        "valid",
        "duplicate_suspected",
        "accepted",
        "export_failed",
        "exported",
    ]


def test_an_outcome_of_another_schema_version_or_type_is_refused() -> None:
    event = _lifecycle(str(uuid.uuid4()))[0]
    raw = event.model_dump(mode="json")
    for changed in ({"schema_version": 2}, {"event_type": "record.entered"}):
        with pytest.raises(ValidationError):
            Outcome.model_validate({**raw, **changed})
    # The record it carries is not decoded: a record the contract would refuse does not
    # keep its outcome from the view (validation already judged it).
    raw["payload"]["record"] = {"not": "a record"}
    assert Outcome.model_validate(raw).payload.status == RecordStatus.VALID


def test_an_outcome_is_aligned_by_the_entry_time_it_carries() -> None:
    # The status view's consumer aligns its topics by entered_ms: the entry time the
    # events carry, not when each stage published them.
    entered_at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    event = _lifecycle(str(uuid.uuid4()))[0].model_copy(update={"entered_at": entered_at})
    outcome = Outcome.model_validate_json(event.model_dump_json())
    assert entered_ms(outcome) == int(entered_at.timestamp() * 1000)
    older = event.model_dump(mode="json")
    older.pop("entered_at")  # from a producer older than the field: no entry time
    assert entered_ms(Outcome.model_validate(older)) is None


def test_the_status_view_reads_its_topics_in_step_by_entry_time() -> None:
    settings = IntakeSettings(consumer_align_ms=1000, consumer_align_window_s=600)

    async def handle(events: Any) -> None:
        """Not called here."""

    subscription = status_view_subscription(settings, handle)
    assert subscription.pipelined
    assert subscription.align_ms == 1000
    assert subscription.align_time is entered_ms
    assert subscription.align_window_ms == 600_000

"""The envelope's reactions: what an event caused by another inherits."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from hotich_contracts.envelope import derived_event_id, reaction_to
from hotich_contracts.events import (
    RecordDeduplicated,
    RecordDeduplicatedPayload,
    RecordEntered,
    RecordStatus,
)
from tests.factories import entered, record, validated

ENTERED_AT = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_a_reaction_to_record_entered_carries_its_occurred_at_as_the_entry_time() -> None:
    cause = entered().model_copy(update={"occurred_at": ENTERED_AT})
    assert cause.entered_at is None
    assert cause.entered_time == ENTERED_AT
    fields = reaction_to(cause, stage="deduplicated", actor="service:dedup")
    assert fields["entered_at"] == ENTERED_AT
    assert fields["event_id"] == derived_event_id(cause.event_id, "deduplicated")


def test_the_entry_time_is_carried_down_every_stage_not_replaced_by_each_stage_time() -> None:
    # Validation published an hour after the entry; dedup's reaction keeps the entry time.
    cause = validated().model_copy(
        update={"entered_at": ENTERED_AT, "occurred_at": ENTERED_AT + timedelta(hours=1)}
    )
    outcome = RecordDeduplicated(
        **reaction_to(cause, stage="deduplicated", actor="service:dedup"),
        payload=RecordDeduplicatedPayload(status=RecordStatus.ACCEPTED, phase=1, record=record()),
    )
    assert outcome.entered_at == ENTERED_AT
    again = RecordDeduplicated.model_validate_json(outcome.model_dump_json())
    assert again.entered_at == ENTERED_AT


def test_an_event_of_an_older_producer_without_the_entry_time_still_reads() -> None:
    # Only additive changes within a version: a v1 event without entered_at is valid.
    # Its own occurred_at is a stage's time, not the entry's: no entry time, and none
    # passed on to what reacts to it.
    older = validated()
    data = older.model_dump(mode="json")
    data.pop("entered_at")
    event = type(older).model_validate(data)
    assert event.entered_at is None
    assert event.entered_time is None
    assert reaction_to(event, stage="deduplicated", actor="service:dedup")["entered_at"] is None


def test_record_entered_has_no_entry_time_field_in_its_schema_or_its_json() -> None:
    # The entry is record.entered itself: its schema and what intake publishes leave the
    # field out; a null from an event published before that still reads, a time does not.
    event = entered()
    assert "entered_at" not in RecordEntered.model_json_schema()["properties"]
    data = json.loads(event.model_dump_json())
    assert "entered_at" not in data
    assert RecordEntered.model_validate({**data, "entered_at": None}) == event
    with pytest.raises(ValidationError):
        RecordEntered.model_validate({**data, "entered_at": ENTERED_AT.isoformat()})

"""The event intake would publish for a generated item.

For tests and benchmarks that feed validation and dedup directly, without intake.
"""

from __future__ import annotations

from datetime import date, datetime, time

from hotich_contracts.events import RecordEntered, RecordEnteredPayload
from hotich_contracts.records import parse_record
from hotich_local.synth.model import Item
from hotich_validation.service_layer.handlers import VIETNAM


def entered_event(item: Item, *, actor: str = "clerk") -> RecordEntered:
    """``record.entered`` (version 1) of a well-formed item.

    Entered at noon, Vietnam time, on the day its truth says, so that validation judges
    it as the truth expects.

    Raises:
        pydantic.ValidationError: the item is one of the generator's malformed ones.
    """
    truth = item["truth"]
    return RecordEntered(
        actor=actor,
        correlation_id=truth["id"],
        record_id=truth["id"],
        record_version=1,
        unit_code=truth["entering_unit_code"],
        occurred_at=datetime.combine(date.fromisoformat(truth["entered_on"]), time(12), VIETNAM),
        payload=RecordEnteredPayload(record=parse_record(item["record"])),
    )

"""The event intake would publish for a generated item.

For tests and benchmarks that feed validation and dedup directly, without intake.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time

from hotich_contracts.events import RecordEntered, RecordEnteredPayload
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.records import Record, parse_record
from hotich_local.synth.generator import generate
from hotich_local.synth.model import PLAN_PROVINCE_LEVEL, PLAN_TOTAL, GenerationConfig, Item, Truth
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


def dedup_inputs(total: int, seed: int) -> Iterator[tuple[Truth, Record]]:
    """The generated records that reach dedup, in stream order, with their truths.

    ``total`` items with the province level's share of the plan (about 1.7 %); of them,
    what validation lets through: the truth's valid records and the exact re-keyings of
    them (rejected ``duplicate_exact`` by dedup itself).
    """
    province = round(total * PLAN_PROVINCE_LEVEL / PLAN_TOTAL)
    config = GenerationConfig(total=total, seed=seed, province_level=province)
    for item in generate(config):
        truth = item["truth"]
        if truth["outcome"] != "valid" and truth["reasons"] != [ReasonCode.DUPLICATE_EXACT.value]:
            continue
        yield truth, parse_record(item["record"])

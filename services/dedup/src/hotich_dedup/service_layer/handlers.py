"""Use cases of the dedup service."""

from __future__ import annotations

from collections.abc import Sequence

from hotich_contracts import topics
from hotich_contracts.envelope import reaction_to
from hotich_contracts.events import (
    RecordDeduplicated,
    RecordDeduplicatedPayload,
    RecordStatus,
    RecordValidated,
)
from hotich_contracts.reasons import Reason, ReasonCode
from hotich_contracts.records import natural_key
from hotich_dedup.service_layer.ports import ExactKeyIndex
from hotich_runtime.ports import Publisher

STAGE = "deduplicated"


def _exact_duplicate_reason(original_id: str) -> Reason:
    return Reason(
        code=ReasonCode.DUPLICATE_EXACT,
        message_vi=(
            "Trùng với bản ghi đã nhập có cùng cơ quan đăng ký, quyển số, số đăng ký và loại việc "
            f"(bản ghi gốc {original_id})."
        ),
        message_en=(
            "Duplicates a record already entered with the same registering authority, book, "
            f"entry number and type (original record {original_id})."
        ),
        related_record_id=original_id,
    )


async def deduplicate(
    events: Sequence[RecordValidated], *, keys: ExactKeyIndex, publisher: Publisher
) -> list[RecordDeduplicated]:
    """Decide accepted / rejected-as-exact-duplicate for the valid records of a batch.

    Rejected records are not dedup's business and pass by. Repeats of an event give the
    same outcome with the same event id, so downstream drops them.
    """
    valid = [e for e in events if e.payload.status == RecordStatus.VALID]
    claims = [(natural_key(e.payload.record), e.record_id) for e in valid]
    owners = await keys.claim(claims)
    outcomes: list[RecordDeduplicated] = []
    for event, (key, _) in zip(valid, claims, strict=True):
        owner = owners[key]
        duplicate = owner != event.record_id
        outcomes.append(
            RecordDeduplicated(
                **reaction_to(event, stage=STAGE, actor="service:dedup"),
                payload=RecordDeduplicatedPayload(
                    status=RecordStatus.REJECTED if duplicate else RecordStatus.ACCEPTED,
                    phase=event.payload.phase,
                    reasons=[_exact_duplicate_reason(owner)] if duplicate else [],
                    record=event.payload.record,
                ),
            )
        )
    await publisher.publish(topics.RECORD_DEDUPLICATED, outcomes)
    return outcomes

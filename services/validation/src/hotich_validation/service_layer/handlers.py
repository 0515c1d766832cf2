"""Use cases of the validation service: apply the plan's rules to entered records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta, timezone

from hotich_contracts import topics
from hotich_contracts.envelope import derived_event_id
from hotich_contracts.events import (
    RecordEntered,
    RecordStatus,
    RecordValidated,
    RecordValidatedPayload,
)
from hotich_contracts.plan import Plan
from hotich_contracts.reasons import Reason, ReasonCode, Severity
from hotich_contracts.units import UnitRegistry
from hotich_runtime.ports import Publisher
from hotich_validation.domain.entering_unit import check_entering_unit
from hotich_validation.domain.phases import assign_phase

STAGE = "validated"
VIETNAM = timezone(timedelta(hours=7))
"""Entry dates are compared with the plan's windows in Vietnam's time (UTC+7, no DST)."""


def _reason(
    code: str, vi: str, en: str, *, field: str | None = None, severity: Severity = Severity.ERROR
) -> Reason:
    return Reason(
        code=ReasonCode(code), message_vi=vi, message_en=en, field=field, severity=severity
    )


def _not_enterable(event: RecordEntered) -> list[Reason]:
    unreadable = list(getattr(event.payload.record, "unreadable_fields", None) or [])
    if not unreadable:
        return []
    return [
        _reason(
            ReasonCode.NOT_ENTERABLE,
            f"Sổ bị rách, hư hỏng: không đọc được trường bắt buộc ({', '.join(unreadable)}); "
            "không nhập theo nguyên tắc 3 của kế hoạch.",
            f"Register torn or damaged: mandatory field(s) unreadable ({', '.join(unreadable)}); "
            "not entered under principle 3 of the plan.",
            field=unreadable[0],
        )
    ]


@dataclass(frozen=True)
class Validator:
    """Applies the plan file's rules to entered record versions."""

    plan: Plan
    registry: UnitRegistry

    def validate(self, event: RecordEntered) -> RecordValidated:
        """Return the outcome for one entered record: every reason at once."""
        record = event.payload.record
        details = getattr(record, "details", None)
        entered_on = event.occurred_at.astimezone(VIETNAM).date()
        decision = assign_phase(
            record_type=str(record.record_type),
            registration_date=record.registration_date,
            unit_code=event.unit_code,
            source=str(record.source),
            marital_purpose=(
                str(p) if (p := getattr(details, "purpose", None)) is not None else None
            ),
            entered_on=entered_on,
            plan=self.plan,
            registry=self.registry,
        )
        reasons = [_reason(r.code, r.detail_vi, r.detail_en) for r in decision.reasons]
        reasons += [
            _reason(r.code, r.detail_vi, r.detail_en)
            for r in check_entering_unit(
                clerk_unit=event.unit_code,
                registering_authority_code=record.registering_authority_code,
                storing_unit_code=record.storing_unit_code,
                registration_date=record.registration_date,
                entered_on=entered_on,
                registry=self.registry,
            )
        ]
        not_enterable = _not_enterable(event)
        reasons += not_enterable
        warnings = []
        if decision.late and not reasons:
            warnings.append(
                _reason(
                    ReasonCode.LATE_ENTRY,
                    f"Nhập sau khi giai đoạn {decision.phase} đã kết thúc (vẫn được chấp nhận).",
                    f"Entered after phase {decision.phase}'s window closed (still accepted).",
                    severity=Severity.WARNING,
                )
            )
        return RecordValidated(
            event_id=derived_event_id(event.event_id, STAGE),
            actor="service:validation",
            correlation_id=event.correlation_id,
            record_id=event.record_id,
            record_version=event.record_version,
            unit_code=event.unit_code,
            payload=RecordValidatedPayload(
                status=RecordStatus.REJECTED if reasons else RecordStatus.VALID,
                phase=decision.phase,
                late=decision.late,
                not_enterable=bool(not_enterable),
                reasons=reasons,
                warnings=warnings,
                record=record,
            ),
        )


async def validate_batch(
    events: Sequence[RecordEntered], *, validator: Validator, publisher: Publisher
) -> list[RecordValidated]:
    """Validate a batch and publish the outcomes (same event ids on a repeat)."""
    outcomes = [validator.validate(e) for e in events]
    await publisher.publish(topics.RECORD_VALIDATED, outcomes)
    return outcomes

"""Use cases of the validation service: apply the plan's rules to entered records.

:class:`Validator` composes the pure rules of :mod:`hotich_validation.domain` (phase,
entering unit, mandatory fields, consistency) into one outcome per record version,
every reason at once. :func:`validate_batch` is what the Kafka subscriber calls;
:func:`revalidate` produces fresh outcomes after the rules changed (a new plan file, a
new mandatory-field table), with event ids of their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any, Final

from hotich_contracts import topics
from hotich_contracts.envelope import derived_event_id, utcnow
from hotich_contracts.events import (
    RecordEntered,
    RecordStatus,
    RecordValidated,
    RecordValidatedPayload,
)
from hotich_contracts.mandatory import MandatoryFields, load_mandatory_fields
from hotich_contracts.plan import Plan
from hotich_contracts.reasons import Reason, ReasonCode, Severity
from hotich_contracts.units import UnitRegistry
from hotich_runtime.ports import Publisher
from hotich_validation.domain.consistency import DEFAULT_RULES, ConsistencyRules, check_consistency
from hotich_validation.domain.entering_unit import check_entering_unit
from hotich_validation.domain.mandatory import MandatoryFieldCheck
from hotich_validation.domain.phases import PhaseTable, RuleReason

__all__ = [
    "RULES_VERSION",
    "STAGE",
    "VIETNAM",
    "Validator",
    "revalidate",
    "revalidation_stage",
    "validate_batch",
]

STAGE: Final = "validated"
"""Stage name of first validations: their event id is ``derived_event_id(cause, STAGE)``."""

RULES_VERSION: Final = 3
"""Version of the rule *code*; part of the rules fingerprint. Bump it when a rule's
behaviour changes in code (not in configuration), so re-validation gets new event ids."""

VIETNAM: Final = timezone(timedelta(hours=7))
"""Entry dates are compared with the plan's windows in Vietnam's time (UTC+7, no DST)."""


def _reason(rule: RuleReason) -> Reason:
    return Reason(
        code=ReasonCode(rule.code),
        severity=Severity(rule.severity),
        message_vi=rule.detail_vi,
        message_en=rule.detail_en,
        field=rule.field,
    )


def _registry_fingerprint(registry: UnitRegistry) -> str:
    digest = hashlib.sha256()
    for unit in registry.all():
        for version in registry.versions(unit.code):
            digest.update(version.model_dump_json().encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class Validator:
    """Applies the plan file's rules to entered record versions.

    A pure function of its inputs: the plan, the unit registry, the mandatory-field
    table and the consistency thresholds it holds, and the event (whose ``occurred_at``
    gives the day of entry). It reads no clock and no file once built.
    """

    plan: Plan
    registry: UnitRegistry
    mandatory: MandatoryFields = field(default_factory=load_mandatory_fields)
    rules: ConsistencyRules = DEFAULT_RULES
    _phases: PhaseTable = field(init=False, repr=False, compare=False)
    _mandatory_check: MandatoryFieldCheck = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Compiled once: rule lookups by type and unit, mandatory paths by type.
        object.__setattr__(self, "_phases", PhaseTable(self.plan, self.registry))
        object.__setattr__(self, "_mandatory_check", MandatoryFieldCheck(self.mandatory))

    def fingerprint(self) -> str:
        """SHA-256 (hex) of everything the outcome depends on besides the event.

        The plan's fingerprint, the mandatory-field table, the consistency thresholds,
        the unit registry and :data:`RULES_VERSION`: equal fingerprints, equal outcomes.
        """
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        parts = (
            f"rules:{RULES_VERSION}",
            f"plan:{self.plan.fingerprint()}",
            f"mandatory:{self.mandatory.fingerprint()}",
            f"consistency:{self.rules.fingerprint()}",
            f"units:{_registry_fingerprint(self.registry)}",
        )
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()

    def validate(
        self, event: RecordEntered, *, stage: str = STAGE, at: datetime | None = None
    ) -> RecordValidated:
        """Return the outcome for one entered record: every reason at once.

        Args:
            event: the entered record version.
            stage: what the outcome's event id is derived from, with the entered event's
                id (:data:`STAGE` for a first validation; see :func:`revalidation_stage`).
            at: the outcome's ``occurred_at``; default: the entered event's, which keeps
                the result a function of its inputs.
        """
        record = event.payload.record
        details: Any = record.details
        record_type = record.record_type.value
        entered_on = event.occurred_at.astimezone(VIETNAM).date()
        decision = self._phases.assign(
            record_type=record_type,
            registration_date=record.registration_date,
            unit_code=event.unit_code,
            source=record.source.value,
            marital_purpose=details.purpose.value if record_type == "marital_status" else None,
            entered_on=entered_on,
        )
        found: list[RuleReason] = list(decision.reasons)
        found += check_entering_unit(
            clerk_unit=event.unit_code,
            registering_authority_code=record.registering_authority_code,
            storing_unit_code=record.storing_unit_code,
            registration_date=record.registration_date,
            entered_on=entered_on,
            registry=self.registry,
        )
        found += self._mandatory_check.check(record)
        found += check_consistency(
            record, entered_on=entered_on, registry=self.registry, rules=self.rules
        )
        reasons: list[Reason] = []
        warnings: list[Reason] = []
        not_enterable = False
        for rule in found:
            if rule.severity == "warning":
                warnings.append(_reason(rule))
            else:
                reasons.append(_reason(rule))
                not_enterable = not_enterable or rule.code == ReasonCode.NOT_ENTERABLE
        if decision.late and not reasons:
            warnings.insert(
                0,
                Reason(
                    code=ReasonCode.LATE_ENTRY,
                    severity=Severity.WARNING,
                    message_vi=f"Nhập sau khi giai đoạn {decision.phase} đã kết thúc (vẫn được "
                    "chấp nhận).",
                    message_en=f"Entered after phase {decision.phase}'s window closed (still "
                    "accepted).",
                ),
            )
        # Built without re-validation: every part is already a validated value, and
        # validating again would re-run the record's own checks (a third of the time).
        return RecordValidated.model_construct(
            event_type="record.validated",
            schema_version=1,
            event_id=derived_event_id(event.event_id, stage),
            occurred_at=at or event.occurred_at,
            actor="service:validation",
            correlation_id=event.correlation_id,
            record_id=event.record_id,
            record_version=event.record_version,
            unit_code=event.unit_code,
            entered_at=event.entered_time,
            payload=RecordValidatedPayload.model_construct(
                status=RecordStatus.REJECTED if reasons else RecordStatus.VALID,
                phase=decision.phase,
                late=decision.late,
                not_enterable=not_enterable,
                reasons=reasons,
                warnings=warnings,
                record=record,
            ),
        )


async def validate_batch(
    events: Sequence[RecordEntered],
    *,
    validator: Validator,
    publisher: Publisher,
    topic: str = topics.RECORD_VALIDATED,
) -> list[RecordValidated]:
    """Validate a batch and publish the outcomes to ``topic``.

    At least once: a batch handled again (a crash before its offsets were committed, a
    rebalance) publishes its outcomes again, with the *same event ids*
    (``derived_event_id(entered_event_id, STAGE)``) and the same content; only
    ``occurred_at`` (when it was validated) differs. Consumers drop the copy by its id.
    """
    now = utcnow()
    outcomes = [validator.validate(e, at=now) for e in events]
    await publisher.publish(topic, outcomes)
    return outcomes


def revalidation_stage(validator: Validator, label: str | None = None) -> str:
    """The stage re-validation derives event ids from: ``validated:<rules fingerprint>``.

    Outcomes of re-validation therefore differ in id from the first validation (stage
    ``validated``) and from re-validations under other rules, so downstream consumers
    do not drop them as repeats; re-running with the same rules gives the same ids
    (a repeat, dropped). Going back to rules used before gives that earlier run's ids:
    pass a ``label`` (e.g. a date) to force ids of their own.
    """
    stage = f"{STAGE}:{validator.fingerprint()}"
    return f"{stage}:{label}" if label else stage


def revalidate(
    events: Iterable[RecordEntered],
    validator: Validator,
    *,
    label: str | None = None,
    at: datetime | None = None,
) -> list[RecordValidated]:
    """Apply the current rules again to entered record versions (after a plan change).

    Args:
        events: the entered versions to validate again (usually the latest of each
            record).
        validator: the rules now in force.
        label: optional extra to make the event ids new even under rules used before.
        at: the outcomes' ``occurred_at``; default: each entered event's.

    Returns:
        One outcome per event, with event ids derived from the entered event's id and
        :func:`revalidation_stage`.
    """
    stage = revalidation_stage(validator, label)
    return [validator.validate(event, stage=stage, at=at) for event in events]

"""Pure validation rules: phases, who enters what, mandatory fields, consistency (no I/O)."""

from hotich_validation.domain.consistency import (
    DEFAULT_RULES,
    ConsistencyRules,
    MarriageAgeEra,
    check_consistency,
    check_identity_number,
)
from hotich_validation.domain.entering_unit import check_entering_unit
from hotich_validation.domain.mandatory import MandatoryFieldCheck
from hotich_validation.domain.phases import (
    RECORD_TYPE_NAMES,
    PhaseDecision,
    PhaseId,
    RuleReason,
    Severity,
    Source,
    assign_phase,
)

__all__ = [
    "DEFAULT_RULES",
    "RECORD_TYPE_NAMES",
    "ConsistencyRules",
    "MandatoryFieldCheck",
    "MarriageAgeEra",
    "PhaseDecision",
    "PhaseId",
    "RuleReason",
    "Severity",
    "Source",
    "assign_phase",
    "check_consistency",
    "check_entering_unit",
    "check_identity_number",
]

"""Pure validation rules: the plan's phases and who enters what (no I/O)."""

from hotich_validation.domain.entering_unit import check_entering_unit
from hotich_validation.domain.phases import (
    RECORD_TYPE_NAMES,
    PhaseDecision,
    PhaseId,
    RuleReason,
    Source,
    assign_phase,
)

__all__ = [
    "RECORD_TYPE_NAMES",
    "PhaseDecision",
    "PhaseId",
    "RuleReason",
    "Source",
    "assign_phase",
    "check_entering_unit",
]

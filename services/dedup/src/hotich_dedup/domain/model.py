"""What dedup decides and keeps per record: the register key, the state, the decision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from hotich_contracts.envelope import derived_event_id
from hotich_contracts.events import DuplicateReview, Phase, RecordStatus
from hotich_contracts.reasons import Reason
from hotich_contracts.records import Record, RecordBase, natural_key
from hotich_dedup.domain.matching import Match
from hotich_dedup.domain.profile import MatchProfile

__all__ = [
    "REVIEW_STAGE",
    "STAGE",
    "Decision",
    "RecordState",
    "ReviewState",
    "register_key",
]

STAGE: Final = "deduplicated"
"""Stage name of dedup's outcome events (their ids derive from the cause and it)."""

REVIEW_STAGE: Final = "reviewed"
"""Stage name of the event resolving a suspicion (its id derives from the suspicion's)."""


def register_key(record: RecordBase) -> str:
    """Return the exact-duplicate key of a record: its register coordinates.

    :func:`~hotich_contracts.records.natural_key`, plus the storing unit when the
    registering authority has no code: an unknown or defunct authority's name as
    written ("Không rõ (sổ mất bìa)") does not tell one commune's torn book from
    another's, while the unit storing it does (principle 2).
    """
    key = natural_key(record)
    if record.registering_authority_code is None:
        key = f"{key}|@{record.storing_unit_code}"
    return key


class ReviewState(StrEnum):
    """Where a suspected duplicate stands in review."""

    OPEN = "open"
    RESOLVED = "resolved"
    SUPERSEDED = "superseded"
    """A newer version of the record was entered before anyone resolved this one."""


@dataclass(frozen=True)
class RecordState:
    """The latest version dedup processed of a record, and what it holds."""

    record_id: str
    version: int
    register_key: str
    """The register key this version claimed (or tried to)."""
    profile: MatchProfile | None
    """Its match profile, for types checked for probable duplicates."""
    active: bool
    """Whether the profile is a candidate for later records (false once rejected)."""
    keying_of: str | None = None
    """Rejected as an exact duplicate: the record its profile is kept beside as another
    keying (:meth:`~hotich_dedup.domain.profile.MatchProfile.as_keying_of`), dropped from
    there when this record gets a new version."""


@dataclass(frozen=True)
class Decision:
    """Dedup's decision on one record version, kept so a repeat gives the same outcome."""

    record_id: str
    version: int
    cause_event_id: uuid.UUID
    """The validated event it was decided for."""
    status: RecordStatus
    phase: Phase | None
    unit_code: str
    record_type: str
    correlation_id: str
    decided_at: datetime
    fingerprint: str | None = None
    candidates: tuple[Match, ...] = ()
    linked: tuple[tuple[str, str], ...] = ()
    """Pairs of candidates never held as duplicates of each other: this record links
    them (both may register the same event; either may have been accepted and exported
    before this record arrived). See :func:`~hotich_dedup.domain.matching.linked_pairs`."""
    reasons: tuple[Reason, ...] = ()
    record: Record | None = None
    """The record, kept for suspects: the resolving event carries it to export."""
    review_state: ReviewState | None = None
    review: DuplicateReview | None = None
    published: bool = True
    """False while the resolving event is not yet acknowledged by Kafka (an outbox)."""
    entered_at: datetime | None = None
    """When the record version was entered (the cause's ``entered_at``): the resolving
    event carries it, as every stage's event does."""

    @property
    def event_id(self) -> uuid.UUID:
        """Id of the outcome event published for the cause."""
        return derived_event_id(self.cause_event_id, STAGE)

    @property
    def review_event_id(self) -> uuid.UUID:
        """Id of the event that publishes the resolution."""
        return derived_event_id(self.event_id, REVIEW_STAGE)

    @property
    def units(self) -> tuple[str, ...]:
        """Units involved: the record's and its candidates' (for reviewers' scopes)."""
        return tuple(dict.fromkeys((self.unit_code, *(c.unit_code for c in self.candidates))))

    def listed(
        self, *, state: ReviewState | None, units: frozenset[str] | None, linked: bool
    ) -> bool:
        """Whether a review list (``GET /v1/duplicates``) shows this decision.

        Suspects in ``state`` (None: any) involving one of ``units`` (None: any). With
        ``linked``, only decisions naming a pair: such suspects, and the rejections of a
        re-keying naming one, which have no review state until checked (open).
        """
        if linked and not self.linked:
            return False
        if self.status == RecordStatus.DUPLICATE_SUSPECTED:
            held = self.review_state
        elif linked and self.status == RecordStatus.REJECTED:
            held = self.review_state or ReviewState.OPEN
        else:
            return False
        if state is not None and held != state:
            return False
        return units is None or not units.isdisjoint(self.units)

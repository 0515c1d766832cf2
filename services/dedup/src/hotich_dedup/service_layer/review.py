"""Use cases of duplicate review (xem xét trùng lặp) by district and Department officers.

A district officer (Phòng Tư pháp) sees the suspects that involve a unit of the
district (the suspect's unit or a candidate's) and resolves those entered in the
district; a Department officer (Sở Tư pháp) sees and resolves all. Resolving is
first-come: the open suspicion is closed atomically in the store, then the resolving
event is published. The store marks it unpublished until Kafka acknowledges, and
:func:`publish_pending` (run at start-up and periodically) completes any resolution a
crash interrupted: the resolving event has a deterministic id, so publishing it twice
is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from hotich_contracts import topics
from hotich_contracts.envelope import utcnow
from hotich_contracts.events import (
    DuplicateCandidate,
    DuplicateResolution,
    DuplicateReview,
    RecordDeduplicated,
    RecordDeduplicatedPayload,
    RecordStatus,
)
from hotich_contracts.units import UnitRegistry
from hotich_dedup.domain.matching import pair_id
from hotich_dedup.domain.model import Decision, ReviewState
from hotich_dedup.service_layer.handlers import probable_duplicate_reason
from hotich_dedup.service_layer.ports import DedupStore
from hotich_runtime.auth import Principal, Role
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import Publisher

__all__ = [
    "Conflict",
    "InvalidResolution",
    "NotFound",
    "OutOfScope",
    "ReviewError",
    "check_pair",
    "list_suspects",
    "publish_pending",
    "resolve",
    "resolving_event",
]

REVIEWERS = (Role.DISTRICT_OFFICER, Role.DEPARTMENT_OFFICER)

log = logging.getLogger(__name__)


class ReviewError(Exception):
    """A review request that cannot be carried out (mapped to an HTTP status)."""


class NotFound(ReviewError):
    """No suspected duplicate for that record."""


class OutOfScope(ReviewError):
    """The officer may not see or resolve that record, or is no reviewer."""


class Conflict(ReviewError):
    """Already resolved otherwise, superseded by a newer version, or not a suspect."""


class InvalidResolution(ReviewError):
    """``duplicate_of`` is not one of the suspect's candidates."""


def scope_units(principal: Principal, registry: UnitRegistry) -> list[str] | None:
    """Units whose suspects the principal may see; None for the whole province.

    Raises:
        OutOfScope: the principal does not review duplicates.
    """
    if principal.role == Role.DEPARTMENT_OFFICER:
        return None
    if principal.role != Role.DISTRICT_OFFICER:
        raise OutOfScope(principal.role.value)
    return [principal.unit_code, *(u.code for u in registry.descendants(principal.unit_code))]


async def list_suspects(
    store: DedupStore,
    registry: UnitRegistry,
    principal: Principal,
    *,
    state: ReviewState | None,
    unit_code: str | None = None,
    limit: int = 100,
    after: str | None = None,
    linked: bool = False,
) -> Sequence[Decision]:
    """Suspected duplicates in the principal's scope (or in ``unit_code`` within it).

    With ``linked``, only those naming a pair of their candidates (:attr:`Decision.linked`):
    both may be copies of one event.

    Raises:
        OutOfScope: not a reviewer, or ``unit_code`` outside the principal's scope.
    """
    allowed = scope_units(principal, registry)
    units = allowed
    if unit_code is not None:
        if allowed is not None and unit_code not in allowed:
            raise OutOfScope(unit_code)
        units = [unit_code, *(u.code for u in registry.descendants(unit_code))]
    return await store.list_suspects(
        units=units, state=state, limit=limit, after=after, linked=linked
    )


def may_resolve(principal: Principal, registry: UnitRegistry, decision: Decision) -> bool:
    """Whether the principal may resolve the suspicion: entered in their scope."""
    allowed = scope_units(principal, registry)
    return allowed is None or decision.unit_code in allowed


def may_check_pair(principal: Principal, registry: UnitRegistry, decision: Decision) -> bool:
    """Whether the principal may note the check of the pairs a rejection names.

    A distinct finding holds for every later reviewer, so a district officer may make it
    only when every record involved (the rejected one and its candidates) is of the
    district; the Department always.
    """
    allowed = scope_units(principal, registry)
    return allowed is None or set(decision.units) <= set(allowed)


def resolving_event(decision: Decision) -> RecordDeduplicated:
    """The event publishing a resolved suspicion: accepted (distinct) or rejected."""
    review = decision.review
    if review is None or decision.record is None:
        raise ValueError("the decision is not a resolved suspicion")
    distinct = review.resolution == DuplicateResolution.DISTINCT
    return RecordDeduplicated(
        event_id=decision.review_event_id,
        actor=review.reviewer,
        correlation_id=decision.correlation_id,
        record_id=decision.record_id,
        record_version=decision.version,
        unit_code=decision.unit_code,
        entered_at=decision.entered_at,
        payload=RecordDeduplicatedPayload(
            status=RecordStatus.ACCEPTED if distinct else RecordStatus.REJECTED,
            phase=decision.phase,
            candidates=[
                DuplicateCandidate(
                    record_id=m.record_id, score=m.score, matched_fields=list(m.matched_fields)
                )
                for m in decision.candidates
            ],
            reasons=[] if distinct else [probable_duplicate_reason(review.duplicate_of or "")],
            record=decision.record,
            review=review,
        ),
    )


async def _complete(
    decision: Decision, store: DedupStore, publisher: Publisher, topic: str
) -> None:
    """Apply a resolution's effects, publish its event, and note it published."""
    review = decision.review
    assert review is not None
    if review.resolution == DuplicateResolution.DISTINCT:
        await store.add_distinct_pairs(
            [
                (
                    pair_id(decision.record_id, m.record_id),
                    {decision.record_id: decision.fingerprint or "", m.record_id: m.fingerprint},
                )
                for m in decision.candidates
            ]
        )
    else:
        await store.deactivate(decision.record_id, decision.version)
    await publisher.publish(topic, [resolving_event(decision)])
    await store.mark_published(decision.record_id, decision.version)


def _review(
    principal: Principal,
    resolution: DuplicateResolution,
    note: str | None,
    now: datetime | None,
    *,
    duplicate_of: str | None = None,
) -> DuplicateReview:
    return DuplicateReview(
        resolution=resolution,
        duplicate_of=duplicate_of,
        reviewer=principal.username,
        reviewer_unit_code=principal.unit_code,
        note=note,
        resolved_at=now or utcnow(),
    )


async def _held_alike(store: DedupStore, decision: Decision, review: DuplicateReview) -> Decision:
    """The decision as held when claiming it failed, if it holds the same finding.

    Raises:
        Conflict: another finding, or a newer version.
    """
    held = await store.latest_decision(decision.record_id)
    if (
        held is None
        or held.version != decision.version
        or held.review is None
        or held.review.resolution != review.resolution
        or held.review.duplicate_of != review.duplicate_of
    ):
        raise Conflict(decision.record_id)
    return held  # the same finding again: complete it (idempotent)


async def _complete_check(decision: Decision, store: DedupStore) -> None:
    """Apply a pair check's effects (a distinct finding marks its pairs); note them done."""
    review = decision.review
    assert review is not None
    if review.resolution == DuplicateResolution.DISTINCT:
        prints = {m.record_id: m.fingerprint for m in decision.candidates}
        await store.add_distinct_pairs(
            [
                (pair_id(a, b), {a: prints[a], b: prints[b]})
                for a, b in decision.linked
                if a in prints and b in prints
            ]
        )
    await store.mark_published(decision.record_id, decision.version)


async def resolve(
    store: DedupStore,
    publisher: Publisher,
    registry: UnitRegistry,
    principal: Principal,
    record_id: str,
    *,
    resolution: DuplicateResolution,
    note: str | None = None,
    duplicate_of: str | None = None,
    now: datetime | None = None,
    topic: str = topics.RECORD_DEDUPLICATED,
) -> Decision:
    """Resolve the open suspicion on a record's newest version; return the decision.

    Repeating the same resolution is harmless (the same event is published again).

    Raises:
        NotFound: the record has no suspected duplicate.
        OutOfScope: the principal may not resolve it.
        Conflict: already resolved otherwise, or superseded by a newer version.
        InvalidResolution: ``duplicate_of`` is not among the candidates.
        RetryableError: the store or Kafka did not answer; the resolution, if it was
            recorded, is published later by :func:`publish_pending`.
    """
    decision = await store.latest_decision(record_id)
    if decision is None or decision.status != RecordStatus.DUPLICATE_SUSPECTED:
        raise NotFound(record_id)
    if not may_resolve(principal, registry, decision):
        raise OutOfScope(record_id)
    candidate_ids = [m.record_id for m in decision.candidates]
    if resolution == DuplicateResolution.DUPLICATE:
        duplicate_of = duplicate_of or candidate_ids[0]
        if duplicate_of not in candidate_ids:
            raise InvalidResolution(duplicate_of)
    else:
        duplicate_of = None
    review = _review(principal, resolution, note, now, duplicate_of=duplicate_of)
    claimed = await store.claim_review(record_id, decision.version, review)
    claimed = claimed or await _held_alike(store, decision, review)
    await _complete(claimed, store, publisher, topic)
    return claimed


async def check_pair(
    store: DedupStore,
    registry: UnitRegistry,
    principal: Principal,
    record_id: str,
    *,
    resolution: DuplicateResolution,
    note: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """Record the Department's check of the pairs a rejection names; return the decision.

    A register entry keyed twice with different slips is one record, the other keying
    rejected as its exact duplicate; when that keying matches a record the accepted one
    did not, both records were accepted and may register one event (``linked``). Both
    went to the national database, so the check is made there; this notes its finding:
    ``distinct`` (two events: the pair is not named again while neither record changes)
    or ``duplicate`` (one event, corrected in the national database). The record stays
    rejected and nothing is published. Repeating the same finding is harmless.

    Raises:
        NotFound: the record's newest version is not a rejection naming a pair.
        OutOfScope: the principal may not check it (:func:`may_check_pair`).
        Conflict: already checked with the other finding.
        RetryableError: the store did not answer; a check it recorded is completed
            later by :func:`publish_pending` (the distinct pairs marked).
    """
    decision = await store.latest_decision(record_id)
    if decision is None or decision.status != RecordStatus.REJECTED or not decision.linked:
        raise NotFound(record_id)
    if not may_check_pair(principal, registry, decision):
        raise OutOfScope(record_id)
    review = _review(principal, resolution, note, now)
    checked = await store.claim_pair_check(record_id, decision.version, review)
    checked = checked or await _held_alike(store, decision, review)
    await _complete_check(checked, store)
    return checked


async def publish_pending(
    store: DedupStore,
    publisher: Publisher,
    *,
    limit: int = 100,
    topic: str = topics.RECORD_DEDUPLICATED,
) -> int:
    """Complete what a crash may have cut short; return how many.

    Resolutions whose event may not have been published, and pair checks whose
    distinct pairs may not have been marked.
    """
    pending = await store.unpublished_reviews(limit)
    done = 0
    for decision in pending:
        try:
            if decision.status == RecordStatus.REJECTED:  # a pair check: nothing to publish
                await _complete_check(decision, store)
            else:
                await _complete(decision, store, publisher, topic)
        except RetryableError:
            raise  # the store or Kafka is down: the next round tries them all again
        except Exception:  # noqa: BLE001 - one broken item must not hold the others back
            log.exception(
                "dedup: a review could not be completed; it stays pending",
                extra={"record_id": decision.record_id, "record_version": decision.version},
            )
            continue
        done += 1
    return done

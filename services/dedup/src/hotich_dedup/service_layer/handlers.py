"""Use case of the dedup consumer: decide accepted / duplicate suspected / rejected.

For each valid record version of a batch, in order:

1. **Repeat?** A decision kept for the same record version is published again (same
   event id for the same cause, so downstream drops the copy); a re-validation (a new
   cause for the same version) gets the same decision, or the review's outcome.
2. **Exact** (trùng chính xác): the register key (authority, book, entry number, type)
   is claimed as a unique id in the store. The loser is rejected ``duplicate_exact``
   with the owner's id. A new version whose key changed releases its old key first.
3. **Probable** (nghi trùng): the version's match profile is written to the store
   *before* the candidates are read (insert, then query). Of two near-identical records
   handled at the same moment by two instances, the one that reads second sees the
   other; in a true race both may see each other and both are flagged: never neither.
   Within a batch, a record is compared only with those before it. A suspect that
   matches two candidates never held as duplicates of each other names them
   (``linked``): two noisy copies accepted before the entry they both copy arrived.
4. The decisions are kept, then the events are published (the runtime commits the
   offsets after that), so a crash anywhere repeats work but never changes an outcome.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hotich_contracts import topics
from hotich_contracts.envelope import reaction_to, utcnow
from hotich_contracts.events import (
    DuplicateCandidate,
    DuplicateResolution,
    RecordDeduplicated,
    RecordDeduplicatedPayload,
    RecordStatus,
    RecordValidated,
)
from hotich_contracts.reasons import Reason, ReasonCode
from hotich_dedup.domain.matching import Match, find_matches, linked_pairs, match_of, pair_id
from hotich_dedup.domain.model import STAGE, Decision, RecordState, ReviewState, register_key
from hotich_dedup.domain.profile import MatchProfile, build_profile
from hotich_dedup.domain.scoring import DEFAULT_RULES, MatchRules, compare
from hotich_dedup.service_layer.ports import DedupStore
from hotich_runtime.ports import Publisher

__all__ = ["deduplicate", "exact_duplicate_reason", "outcome_event", "probable_duplicate_reason"]


def exact_duplicate_reason(original_id: str) -> Reason:
    """The reason of a record rejected as an exact duplicate of ``original_id``."""
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


def probable_duplicate_reason(original_id: str) -> Reason:
    """The reason of a record a reviewer confirmed as a duplicate of ``original_id``."""
    return Reason(
        code=ReasonCode.DUPLICATE_PROBABLE,
        message_vi=(
            "Cán bộ xem xét xác nhận bản ghi đăng ký lại cùng một sự kiện hộ tịch đã nhập "
            f"(bản ghi gốc {original_id})."
        ),
        message_en=(
            "A reviewer confirmed that this record registers again an event already entered "
            f"(original record {original_id})."
        ),
        related_record_id=original_id,
    )


def _candidates(decision: Decision) -> list[DuplicateCandidate]:
    return [
        DuplicateCandidate(
            record_id=m.record_id, score=m.score, matched_fields=list(m.matched_fields)
        )
        for m in decision.candidates
    ]


def outcome_event(cause: RecordValidated, decision: Decision) -> RecordDeduplicated:
    """The event dedup publishes for ``cause`` given its decision.

    For the cause it was decided for: the decision as taken (the same event id each
    time). For a later cause on the same version (re-validation): the review's outcome
    when the suspicion was resolved since.
    """
    status, reasons, review = decision.status, list(decision.reasons), None
    if decision.review is not None and cause.event_id != decision.cause_event_id:
        review = decision.review
        if review.resolution == DuplicateResolution.DISTINCT:
            status, reasons = RecordStatus.ACCEPTED, []
        else:
            status = RecordStatus.REJECTED
            reasons = [probable_duplicate_reason(review.duplicate_of or "")]
    assert status in (
        RecordStatus.ACCEPTED,
        RecordStatus.DUPLICATE_SUSPECTED,
        RecordStatus.REJECTED,
    )
    return RecordDeduplicated(
        **reaction_to(cause, stage=STAGE, actor="service:dedup"),
        payload=RecordDeduplicatedPayload(
            status=status,
            phase=cause.payload.phase,
            # An exact duplicate names its matches for the review list only (``linked``).
            candidates=[] if decision.status == RecordStatus.REJECTED else _candidates(decision),
            reasons=reasons,
            record=cause.payload.record,
            review=review,
        ),
    )


def _waves(events: Sequence[RecordValidated]) -> list[list[RecordValidated]]:
    """Cut a batch, in order, into runs holding at most one version of each record."""
    waves: list[list[RecordValidated]] = [[]]
    seen: set[str] = set()
    for event in events:
        if event.record_id in seen:
            waves.append([])
            seen.clear()
        seen.add(event.record_id)
        waves[-1].append(event)
    return [wave for wave in waves if wave]


@dataclass
class _Wave:
    """Working state of one wave."""

    events: list[RecordValidated]
    keys: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, MatchProfile] = field(default_factory=dict)
    rekeyed: dict[str, tuple[MatchProfile, str]] = field(default_factory=dict)
    """Records rejected as exact duplicates: their profile (never saved) and the record
    whose register entry they key again."""


async def _decide(
    events: list[RecordValidated], store: DedupStore, rules: MatchRules
) -> list[RecordDeduplicated]:
    states = await store.states([e.record_id for e in events])
    # A decision is kept only after its record's state was saved: a record without a
    # state (most of a fresh stream) has no decision to look up.
    kept = await store.decisions(
        [(e.record_id, e.record_version) for e in events if e.record_id in states]
    )
    fresh = [e for e in events if (e.record_id, e.record_version) not in kept]
    decided: dict[str, Decision] = {}
    if fresh:
        decided = await _decide_fresh(fresh, states, store, rules)
    outcomes = []
    for event in events:
        decision = kept.get((event.record_id, event.record_version)) or decided[event.record_id]
        outcomes.append(outcome_event(event, decision))
    return outcomes


async def _decide_fresh(
    fresh: list[RecordValidated],
    states: Mapping[str, RecordState],
    store: DedupStore,
    rules: MatchRules,
) -> dict[str, Decision]:
    wave = _Wave(fresh)
    # A version older than the one held (replayed from far back) is decided read-only.
    current = [
        e for e in fresh if (s := states.get(e.record_id)) is None or s.version <= e.record_version
    ]
    # By identity: ``not in`` would compare pydantic models field by field, each event
    # against every current one (a third of dedup's CPU at 500-event batches).
    kept_current = {id(e) for e in current}
    stale = [e for e in fresh if id(e) not in kept_current]
    wave.keys = {e.record_id: register_key(e.payload.record) for e in fresh}
    releases = [
        (held.register_key, e.record_id)
        for e in current
        if (held := states.get(e.record_id)) is not None
        and held.register_key != wave.keys[e.record_id]
    ]
    await store.release_keys(releases)
    # A record rejected as an exact duplicate whose profile is kept beside another's: a
    # new version of it takes its old content away from there.
    await store.drop_keyings(
        [
            (held.keying_of, e.record_id)
            for e in current
            if (held := states.get(e.record_id)) is not None
            and held.keying_of is not None
            and held.version < e.record_version
        ]
    )
    owners = dict(await store.claim_keys([(wave.keys[e.record_id], e.record_id) for e in current]))
    owners.update(await store.key_owners([wave.keys[e.record_id] for e in stale]))
    exact = {
        e.record_id: owner
        for e in fresh
        if (owner := owners.get(wave.keys[e.record_id], e.record_id)) != e.record_id
    }
    for event in fresh:
        profile = build_profile(
            event.payload.record,
            record_id=event.record_id,
            version=event.record_version,
            unit_code=event.unit_code,
        )
        if profile is None:
            continue
        if event.record_id not in exact:
            wave.profiles[event.record_id] = profile
        elif id(event) in kept_current:
            wave.rekeyed[event.record_id] = (profile, exact[event.record_id])
    await store.save_states(
        [
            RecordState(
                record_id=e.record_id,
                version=e.record_version,
                register_key=wave.keys[e.record_id],
                profile=wave.profiles.get(e.record_id),
                active=e.record_id not in exact,
            )
            for e in current
        ]
    )
    originals = await _original_profiles(wave, store)
    await store.add_keyings(
        [
            profile.as_keying_of(originals[original])
            for profile, original in wave.rekeyed.values()
            if original in originals and profile.fingerprint != originals[original].fingerprint
        ]
    )
    matches, linked = await _probable(wave, store, rules, originals)
    now = utcnow()
    decisions: dict[str, Decision] = {}
    for event in fresh:
        rid = event.record_id
        profile = wave.profiles.get(rid)
        found = matches.get(rid, [])
        base = Decision(
            record_id=rid,
            version=event.record_version,
            cause_event_id=event.event_id,
            status=RecordStatus.ACCEPTED,
            phase=event.payload.phase,
            unit_code=event.unit_code,
            record_type=event.payload.record.record_type.value,
            correlation_id=event.correlation_id,
            decided_at=now,
            fingerprint=profile.fingerprint if profile else None,
            entered_at=event.entered_time,
        )
        if rid in exact:
            decision = dataclasses.replace(
                base,
                status=RecordStatus.REJECTED,
                reasons=(exact_duplicate_reason(exact[rid]),),
                # Only when it names a pair: what the pair's check needs to show (the
                # record it keys again first: its unit is one of the review's).
                candidates=_rekeying_candidates(wave, rid, found, originals, rules)
                if rid in linked
                else (),
                linked=linked.get(rid, ()),
            )
        elif found:
            decision = dataclasses.replace(
                base,
                status=RecordStatus.DUPLICATE_SUSPECTED,
                candidates=tuple(found),
                linked=linked.get(rid, ()),
                record=event.payload.record,
                review_state=ReviewState.OPEN,
            )
        else:
            decision = base
        decisions[rid] = decision
    await store.record_decisions(list(decisions.values()))
    await store.supersede([(e.record_id, e.record_version) for e in current])
    return decisions


Linked = dict[str, tuple[tuple[str, str], ...]]


def _rekeying_candidates(
    wave: _Wave,
    rid: str,
    found: Sequence[Match],
    originals: Mapping[str, MatchProfile],
    rules: MatchRules,
) -> tuple[Match, ...]:
    """A re-keying's original (compared with it, whatever the points), then its matches."""
    profile, original = wave.rekeyed[rid]
    first = match_of(originals[original], compare(profile, originals[original], rules))
    return (first, *found)


async def _original_profiles(wave: _Wave, store: DedupStore) -> dict[str, MatchProfile]:
    """The active profiles of the records the wave's exact duplicates key again."""
    wanted = {original for _, original in wave.rekeyed.values()}
    found = {o: wave.profiles[o] for o in wanted if o in wave.profiles}
    missing = sorted(wanted - found.keys())
    for state in (await store.states(missing)).values() if missing else ():
        if state.profile is not None and state.active:
            found[state.record_id] = state.profile
    return found


async def _probable(
    wave: _Wave, store: DedupStore, rules: MatchRules, originals: Mapping[str, MatchProfile]
) -> tuple[dict[str, list[Match]], Linked]:
    """Score each profile of the wave against the candidates its blocking keys find.

    Returns each record's matches, and for those matching two candidates or more, the
    pairs of them never held as duplicates of each other (see :func:`linked_pairs`).

    A record rejected as an exact duplicate is scored too, without its original: its
    keying may match a record the original's keying did not (the same register entry
    keyed twice, with different typos). Then the original and that record may register
    one event, and both were accepted: the rejection names the pair (``linked``). (A
    record arriving later is compared with that keying too, as the original: see
    :meth:`~hotich_dedup.domain.profile.MatchProfile.as_keying_of`.)
    """
    keyed = {**wave.profiles, **{rid: profile for rid, (profile, _) in wave.rekeyed.items()}}
    if not keyed:
        return {}, {}
    found = await store.candidates([p.blocking_keys for p in keyed.values()])
    by_key: dict[str, list[MatchProfile]] = {}
    every: dict[str, list[MatchProfile]] = {}  # each record's own and other keyings'
    for candidate in found:
        every.setdefault(candidate.record_id, []).append(candidate)
        for key in candidate.blocking_keys:
            by_key.setdefault(key, []).append(candidate)
    position = {e.record_id: i for i, e in enumerate(wave.events)}
    pools: dict[str, list[MatchProfile]] = {}
    for rid, profile in keyed.items():
        original = wave.rekeyed[rid][1] if rid in wave.rekeyed else None
        # By identity: a record may come with other keyings' profiles, under its id.
        # Another keying counts from its own place in the wave (that record's).
        pool: dict[int, MatchProfile] = {}
        for key in profile.blocking_keys:
            for candidate in by_key.get(key, ()):
                source = candidate.keying or candidate.record_id
                later = position.get(source, -1) > position[rid]
                if candidate.record_id not in (rid, original) and not later:
                    pool[id(candidate)] = candidate
        pools[rid] = list(pool.values())
    # Only pairs that score as duplicates can be spared by a reviewer's "distinct": find
    # those first (a few per batch) and ask the store about them alone, not about every
    # pair the blocking keys brought together.
    everyone = dataclasses.replace(rules, max_candidates=sys.maxsize)
    matching = {rid: find_matches(keyed[rid], pool, everyone) for rid, pool in pools.items()}
    pairs = sorted({pair_id(rid, m.record_id) for rid, ms in matching.items() for m in ms})
    marked = await store.distinct_pairs(pairs) if pairs else {}

    def distinct(a: MatchProfile, b: MatchProfile) -> bool:
        return _still_distinct(marked, (a.record_id, a.fingerprint), (b.record_id, b.fingerprint))

    result: dict[str, list[Match]] = {}
    linked: Linked = {}
    for rid, matches in matching.items():
        scored = {m.record_id for m in matches}
        alike = [c for c in pools[rid] if c.record_id in scored]
        result[rid] = find_matches(keyed[rid], alike, rules, distinct=distinct)
        ids = [m.record_id for m in result[rid]]
        # A re-keying's original (if active, of a type with profiles) is one of the pair.
        if ids and rid in wave.rekeyed and (keyed_first := wave.rekeyed[rid][1]) in originals:
            ids.insert(0, keyed_first)
        if len(ids) < 2:
            continue
        # Not this record's own keying (added for later records): it is what links them.
        profiles = {i: [p for p in every.get(i, ()) if p.keying != rid] for i in ids}
        profiles |= {i: [originals[i]] for i in ids if not profiles[i] and i in originals}
        if named := linked_pairs(ids, profiles, rules):
            linked[rid] = named
    if linked:
        linked = await _unchecked(linked, store, [*found, *originals.values()])
    return result, linked


def _still_distinct(
    marked: Mapping[str, Mapping[str, str]],
    a: tuple[str, str | None],
    b: tuple[str, str | None],
) -> bool:
    """Whether the pair of ``(record id, fingerprint)`` was marked distinct as they are."""
    held = marked.get(pair_id(a[0], b[0]))
    return held is not None and all(held.get(rid) == print_ for rid, print_ in (a, b))


async def _unchecked(linked: Linked, store: DedupStore, profiles: Sequence[MatchProfile]) -> Linked:
    """``linked`` without the pairs checked and found distinct, neither changed since.

    See :func:`~hotich_dedup.service_layer.review.check_pair`.
    """
    marked = await store.distinct_pairs(
        sorted({pair_id(a, b) for named in linked.values() for a, b in named})
    )
    if not marked:
        return linked
    # A record's own profile's, before its other keyings' (copies of it when kept).
    ordered = sorted(profiles, key=lambda p: p.keying is None)
    prints = {p.record_id: p.fingerprint for p in ordered}

    def checked(a: str, b: str) -> bool:
        return _still_distinct(marked, (a, prints.get(a)), (b, prints.get(b)))

    kept = {rid: tuple(p for p in named if not checked(*p)) for rid, named in linked.items()}
    return {rid: named for rid, named in kept.items() if named}


async def deduplicate(
    events: Sequence[RecordValidated],
    *,
    store: DedupStore,
    publisher: Publisher,
    rules: MatchRules = DEFAULT_RULES,
    topic: str = topics.RECORD_DEDUPLICATED,
) -> list[RecordDeduplicated]:
    """Decide the valid record versions of a batch and publish the outcomes to ``topic``.

    Records rejected by validation are not dedup's business and pass by. A repeated
    event gives the same outcome with the same event id, so downstream drops it.
    """
    valid = [e for e in events if e.payload.status == RecordStatus.VALID]
    outcomes: list[RecordDeduplicated] = []
    for wave in _waves(valid):
        outcomes.extend(await _decide(wave, store, rules))
    await publisher.publish(topic, outcomes)
    return outcomes

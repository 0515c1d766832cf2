"""Choosing the probable duplicates of a profile among the candidates its blocking keys found."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from hotich_dedup.domain.profile import MatchProfile
from hotich_dedup.domain.scoring import DEFAULT_RULES, Comparison, MatchRules, compare

__all__ = ["Match", "ProfileIndex", "find_matches", "linked_pairs", "match_of", "pair_id"]


@dataclass(frozen=True, slots=True)
class Match:
    """A candidate that scored as a probable duplicate."""

    record_id: str
    version: int
    unit_code: str
    fingerprint: str
    score: float
    points: float
    matched_fields: tuple[str, ...]


def pair_id(a: str, b: str) -> str:
    """Order-free id of a pair of records (for pairs a reviewer marked distinct)."""
    return f"{a}|{b}" if a <= b else f"{b}|{a}"


DistinctCheck = Callable[[MatchProfile, MatchProfile], bool]
"""Whether a reviewer marked the two profiles, as they are now, as distinct events."""


def _never(_a: MatchProfile, _b: MatchProfile) -> bool:
    return False


def find_matches(
    profile: MatchProfile,
    candidates: Iterable[MatchProfile],
    rules: MatchRules = DEFAULT_RULES,
    *,
    distinct: DistinctCheck = _never,
) -> list[Match]:
    """Return the candidates that are probable duplicates of ``profile``, best first.

    Candidates of another type, the record itself, and pairs marked distinct (with
    neither side changed since) are left out; at most ``rules.max_candidates``. A record
    given more than once (its own profile and its other keyings', see
    :meth:`MatchProfile.as_keying_of`) is one candidate, with its best comparison.
    """
    best: dict[str, tuple[Comparison, MatchProfile]] = {}
    for other in candidates:
        if other.record_id == profile.record_id or other.record_type != profile.record_type:
            continue
        result = compare(profile, other, rules)
        if not result.is_match or distinct(profile, other):
            continue
        held = best.get(other.record_id)
        if held is None or result.points > held[0].points:
            best[other.record_id] = (result, other)
    found = [match_of(other, result) for result, other in best.values()]
    found.sort(key=lambda m: (-m.points, m.record_id))
    return found[: rules.max_candidates]


def match_of(other: MatchProfile, result: Comparison) -> Match:
    """The candidate ``other`` with the outcome of the comparison with it."""
    return Match(
        record_id=other.record_id,
        version=other.version,
        unit_code=other.unit_code,
        fingerprint=other.fingerprint,
        score=round(result.score, 4),
        points=result.points,
        matched_fields=result.matched_fields,
    )


def linked_pairs(
    found: Sequence[str],
    profiles: Mapping[str, Sequence[MatchProfile]],
    rules: MatchRules = DEFAULT_RULES,
) -> tuple[tuple[str, str], ...]:
    """Pairs of the records ``found`` like one record that dedup never held as duplicates.

    ``found`` are record ids: a suspect's matches, or, for a record rejected as an exact
    duplicate (a register entry keyed again), the record it re-keys and its own matches.

    Two noisy copies of one register entry can each be too far from the other to
    match: whichever arrives first is accepted, then the second. When the entry itself
    (or a third copy) arrives later, it matches both. Nothing else links them, so the
    pair is named for the reviewer of the later record: both may register the same
    event. So is a pair that would match but shares no blocking key: it was never
    compared. A pair that shares a key and matches was compared when the later of the
    two arrived (one of them was held, or a reviewer marked them distinct), so it is
    not named again. Each pair is ``(smaller id, larger id)``.

    ``profiles`` gives each record's profiles: its own and its other keyings' (see
    :meth:`MatchProfile.as_keying_of`). A pair was compared and matched when any profile
    of one side shares a key with, and matches, any of the other's. A record without
    profiles there names no pair.
    """
    pairs: list[tuple[str, str]] = []
    for i, first in enumerate(found):
        for second in found[i + 1 :]:
            a, b = profiles.get(first, ()), profiles.get(second, ())
            if not a or not b:
                continue
            if any(_held(x, y, rules) for x in a for y in b):
                continue
            low, high = sorted((first, second))
            pairs.append((low, high))
    return tuple(sorted(pairs))


def _held(a: MatchProfile, b: MatchProfile, rules: MatchRules) -> bool:
    """Whether the later of two profiles was compared with the other and matched it."""
    return not set(a.blocking_keys).isdisjoint(b.blocking_keys) and compare(a, b, rules).is_match


class ProfileIndex:
    """Active profiles by blocking key, in memory (the store's index, or a benchmark's).

    A record may also hold the profiles of other keyings of its register entry
    (:meth:`put_keying`), found by their own keys and given with its own.
    """

    def __init__(self, profiles: Iterable[MatchProfile] = ()) -> None:
        self._profiles: dict[str, MatchProfile] = {}
        self._keyings: dict[str, list[MatchProfile]] = {}
        self._by_key: dict[str, set[str]] = {}
        for profile in profiles:
            self.put(profile)

    def put(self, profile: MatchProfile) -> None:
        """Add or replace the profile of ``profile.record_id`` (its other keyings go)."""
        self.remove(profile.record_id)
        self._profiles[profile.record_id] = profile
        for key in profile.blocking_keys:
            self._by_key.setdefault(key, set()).add(profile.record_id)

    def put_keying(self, keying: MatchProfile) -> bool:
        """Add another keying's profile to its record (:meth:`MatchProfile.as_keying_of`).

        Only to the version it was made for, held: False otherwise.
        """
        owner = self._profiles.get(keying.record_id)
        if owner is None or owner.version != keying.version:
            return False
        held = self._keyings.setdefault(keying.record_id, [])
        if all(k.keying != keying.keying for k in held):  # one per rejected record
            held.append(keying)
            for key in keying.blocking_keys:
                self._by_key.setdefault(key, set()).add(keying.record_id)
        return True

    def drop_keying(self, record_id: str, keying: str) -> None:
        """Drop the profile of the keying ``keying`` from the record ``record_id``.

        The keys only it gave the record go too.
        """
        held = self._keyings.get(record_id)
        if not held:
            return
        kept = [k for k in held if k.keying != keying]
        self._keyings[record_id] = kept
        own = self._profiles.get(record_id)
        still = {key for k in [*kept, *([own] if own else [])] for key in k.blocking_keys}
        for dropped in (k for k in held if k.keying == keying):
            for key in set(dropped.blocking_keys) - still:
                ids = self._by_key.get(key)
                if ids is not None:
                    ids.discard(record_id)
                    if not ids:
                        del self._by_key[key]

    def remove(self, record_id: str) -> None:
        """Drop a record's profile and its other keyings', if any."""
        old = self._profiles.pop(record_id, None)
        if old is None:
            return
        keys = {*old.blocking_keys}
        for keying in self._keyings.pop(record_id, ()):
            keys.update(keying.blocking_keys)
        for key in keys:
            ids = self._by_key.get(key)
            if ids is not None:
                ids.discard(record_id)
                if not ids:
                    del self._by_key[key]

    def get(self, record_id: str) -> MatchProfile | None:
        """The profile of a record, if active."""
        return self._profiles.get(record_id)

    def lookup(self, keys: Iterable[str]) -> list[MatchProfile]:
        """Profiles of the records sharing at least one of ``keys``, in id order.

        Each record's own profile, then its other keyings'.
        """
        ids: set[str] = set()
        for key in keys:
            ids.update(self._by_key.get(key, ()))
        return [p for i in sorted(ids) for p in (self._profiles[i], *self._keyings.get(i, ()))]

    def __len__(self) -> int:
        return len(self._profiles)

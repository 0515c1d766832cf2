"""In-memory fake of the dedup store, for unit tests and the quality benchmark."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from hotich_contracts.events import DuplicateReview, RecordStatus
from hotich_dedup.domain.matching import ProfileIndex
from hotich_dedup.domain.model import Decision, RecordState, ReviewState
from hotich_dedup.domain.profile import MatchProfile


def _decision_id(record_id: str, version: int) -> str:
    return f"{record_id}:v{version:010d}"


class InMemoryDedupStore:
    """The :class:`~hotich_dedup.service_layer.ports.DedupStore` contract on dicts."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}
        self.record_states: dict[str, RecordState] = {}
        self.index = ProfileIndex()
        self.kept: dict[str, Decision] = {}
        self.versions: dict[str, set[int]] = {}
        self.distinct: dict[str, dict[str, str]] = {}

    async def decisions(
        self, keys: Sequence[tuple[str, int]]
    ) -> Mapping[tuple[str, int], Decision]:
        """Decisions kept for the pairs."""
        found = {}
        for record_id, version in keys:
            decision = self.kept.get(_decision_id(record_id, version))
            if decision is not None:
                found[(record_id, version)] = decision
        return found

    async def states(self, record_ids: Sequence[str]) -> Mapping[str, RecordState]:
        """Latest states."""
        return {r: self.record_states[r] for r in record_ids if r in self.record_states}

    async def release_keys(self, releases: Sequence[tuple[str, str]]) -> None:
        """Delete owned claims."""
        for key, record_id in releases:
            if self.owners.get(key) == record_id:
                del self.owners[key]

    async def claim_keys(self, claims: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        """First come, first served."""
        for key, record_id in claims:
            self.owners.setdefault(key, record_id)
        return {key: self.owners[key] for key, _ in claims}

    async def key_owners(self, keys: Sequence[str]) -> Mapping[str, str]:
        """Owners of the keys."""
        return {k: self.owners[k] for k in keys if k in self.owners}

    async def save_states(self, states: Sequence[RecordState]) -> None:
        """Keep the newest version of each record (the same again keeps its keyings)."""
        for state in states:
            held = self.record_states.get(state.record_id)
            if held is not None and held.version > state.version:
                continue
            same = held is not None and held.version == state.version
            if held is not None and same:
                state = dataclasses.replace(state, keying_of=held.keying_of)
            self.record_states[state.record_id] = state
            if state.profile is None or not state.active:
                self.index.remove(state.record_id)
            elif not same or self.index.get(state.record_id) is None:
                self.index.put(state.profile)

    async def add_keyings(self, keyings: Sequence[MatchProfile]) -> None:
        """Beside their records' profiles, where active at that version."""
        for keying in keyings:
            source = self.record_states.get(keying.keying or "")
            if self.index.put_keying(keying) and source is not None:
                self.record_states[source.record_id] = dataclasses.replace(
                    source, keying_of=keying.record_id
                )

    async def drop_keyings(self, keyings: Sequence[tuple[str, str]]) -> None:
        """From their records' profiles."""
        for record_id, keying in keyings:
            self.index.drop_keying(record_id, keying)

    async def candidates(self, key_groups: Sequence[Sequence[str]]) -> Sequence[MatchProfile]:
        """Active profiles sharing a key."""
        return self.index.lookup(key for group in key_groups for key in group)

    async def distinct_pairs(self, pair_ids: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        """Pairs marked distinct."""
        return {p: self.distinct[p] for p in pair_ids if p in self.distinct}

    async def record_decisions(self, decisions: Sequence[Decision]) -> None:
        """Keep the first decision per record version."""
        for decision in decisions:
            self.kept.setdefault(_decision_id(decision.record_id, decision.version), decision)
            self.versions.setdefault(decision.record_id, set()).add(decision.version)

    async def supersede(self, record_versions: Sequence[tuple[str, int]]) -> None:
        """Close older open reviews."""
        for record_id, version in record_versions:
            for older in self.versions.get(record_id, ()):
                key = _decision_id(record_id, older)
                decision = self.kept[key]
                naming = (
                    decision.status == RecordStatus.REJECTED
                    and bool(decision.linked)
                    and decision.review_state is None
                )
                if older < version and (decision.review_state == ReviewState.OPEN or naming):
                    self.kept[key] = dataclasses.replace(
                        decision, review_state=ReviewState.SUPERSEDED
                    )

    async def latest_decision(self, record_id: str) -> Decision | None:
        """Newest version's decision."""
        versions = self.versions.get(record_id)
        return self.kept[_decision_id(record_id, max(versions))] if versions else None

    async def list_suspects(
        self,
        *,
        units: Sequence[str] | None,
        state: ReviewState | None,
        limit: int,
        after: str | None,
        linked: bool = False,
    ) -> Sequence[Decision]:
        """Suspects in id order (with ``linked``, re-keyings naming a pair too)."""
        wanted = None if units is None else frozenset(units)
        found = []
        for key in sorted(self.kept):
            decision = self.kept[key]
            if not decision.listed(state=state, units=wanted, linked=linked):
                continue
            if after is not None and key <= after:
                continue
            found.append(decision)
            if len(found) >= limit:
                break
        return found

    async def claim_review(
        self, record_id: str, version: int, review: DuplicateReview
    ) -> Decision | None:
        """Open -> resolved, unpublished."""
        key = _decision_id(record_id, version)
        decision = self.kept.get(key)
        if decision is None or decision.review_state != ReviewState.OPEN:
            return None
        resolved = dataclasses.replace(
            decision, review_state=ReviewState.RESOLVED, review=review, published=False
        )
        self.kept[key] = resolved
        return resolved

    async def claim_pair_check(
        self, record_id: str, version: int, review: DuplicateReview
    ) -> Decision | None:
        """Unchecked rejection naming a pair -> resolved."""
        key = _decision_id(record_id, version)
        decision = self.kept.get(key)
        if (
            decision is None
            or decision.status != RecordStatus.REJECTED
            or not decision.linked
            or decision.review_state is not None
        ):
            return None
        checked = dataclasses.replace(
            decision, review_state=ReviewState.RESOLVED, review=review, published=False
        )
        self.kept[key] = checked
        return checked

    async def add_distinct_pairs(self, pairs: Sequence[tuple[str, Mapping[str, str]]]) -> None:
        """Remember distinct pairs."""
        for pair, fingerprints in pairs:
            self.distinct[pair] = dict(fingerprints)

    async def deactivate(self, record_id: str, version: int) -> None:
        """Drop the profile from the index."""
        state = self.record_states.get(record_id)
        if state is not None and state.version == version:
            self.record_states[record_id] = dataclasses.replace(state, active=False)
            self.index.remove(record_id)

    async def mark_published(self, record_id: str, version: int) -> None:
        """Published."""
        key = _decision_id(record_id, version)
        if key in self.kept:
            self.kept[key] = dataclasses.replace(self.kept[key], published=True)

    async def unpublished_reviews(self, limit: int) -> Sequence[Decision]:
        """Resolved, not yet published."""
        return [d for d in self.kept.values() if not d.published][:limit]

"""Ports of the dedup service: its store, behind one Protocol with an in-memory fake.

The store keeps, per record, the latest state (register key, match profile); per
register key, the record owning it; per record version, the decision and its review;
and the pairs reviewers marked distinct. Every write is idempotent, so a batch handled
twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from hotich_contracts.events import DuplicateReview
from hotich_dedup.domain.model import Decision, RecordState, ReviewState
from hotich_dedup.domain.profile import MatchProfile


class DedupStore(Protocol):
    """Dedup's own store (MongoDB in production, a dict in unit tests).

    Raises:
        RetryableError: from every method when the store is unreachable.
    """

    async def decisions(
        self, keys: Sequence[tuple[str, int]]
    ) -> Mapping[tuple[str, int], Decision]:
        """Return the decisions already taken for ``(record_id, version)`` pairs."""

    async def states(self, record_ids: Sequence[str]) -> Mapping[str, RecordState]:
        """Return the latest state held for each record."""

    async def release_keys(self, releases: Sequence[tuple[str, str]]) -> None:
        """Delete ``(register_key, record_id)`` claims, each only if that record owns it."""

    async def claim_keys(self, claims: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        """Claim ``(register_key, record_id)`` pairs; return each key's owner.

        The first record to claim a key owns it. The claim is one atomic insert under a
        unique index: two instances racing on one key cannot both win.
        """

    async def key_owners(self, keys: Sequence[str]) -> Mapping[str, str]:
        """Return the owners of ``keys`` (read only)."""

    async def save_states(self, states: Sequence[RecordState]) -> None:
        """Store each record's state unless a newer version is already stored.

        The same version saved again (a wave repeated) keeps the keyings held beside it
        (:meth:`add_keyings`) and the record its own keying is kept beside.
        """

    async def add_keyings(self, keyings: Sequence[MatchProfile]) -> None:
        """Keep each profile of another keying beside its record's (``record_id``).

        Only where that record is active at the profile's ``version``; a record's new
        version (:meth:`save_states`) or its deactivation drops them. The record each
        came from (``MatchProfile.keying``) holds the id it is kept beside
        (``RecordState.keying_of``). Repeating one is harmless.
        """

    async def drop_keyings(self, keyings: Sequence[tuple[str, str]]) -> None:
        """Drop, from each record ``(record_id, keying)`` names, that keying's profile.

        The keys only that keying gave the record go too (where nothing changed them
        meanwhile: a key left behind only finds the record).

        Called when the record it came from gets a new version (its ``keying_of``).
        """

    async def candidates(self, key_groups: Sequence[Sequence[str]]) -> Sequence[MatchProfile]:
        """Return the active profiles holding any of the keys (indexed lookup).

        A record holding other keyings' profiles (:meth:`add_keyings`) gives its own and
        theirs when any of them holds a key.

        ``key_groups`` holds the blocking keys of each profile looked up, one group per
        profile: a store that splits the lookup into several queries keeps a group in one
        query where it can, so a profile found by several of those keys (the profile
        itself, saved before the lookup, or a candidate sharing two keys) comes back once.
        """

    async def distinct_pairs(self, pair_ids: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        """Return, for pairs marked distinct, each side's fingerprint when it was marked."""

    async def record_decisions(self, decisions: Sequence[Decision]) -> None:
        """Keep decisions; one already kept for the same record version is left alone."""

    async def supersede(self, record_versions: Sequence[tuple[str, int]]) -> None:
        """Close the open reviews of each record's versions older than the one given."""

    async def latest_decision(self, record_id: str) -> Decision | None:
        """Return the decision on the record's newest version dedup decided on."""

    async def list_suspects(
        self,
        *,
        units: Sequence[str] | None,
        state: ReviewState | None,
        limit: int,
        after: str | None,
        linked: bool = False,
    ) -> Sequence[Decision]:
        """Suspected duplicates involving ``units`` (None: all), by state, paged by id.

        With ``linked``, only those naming a pair of their candidates (``Decision.linked``).

        ``after`` is the ``<record_id>:v<version>`` id of the last item of the previous page.
        """

    async def claim_review(
        self, record_id: str, version: int, review: DuplicateReview
    ) -> Decision | None:
        """Resolve an open suspicion atomically; None when it is not open any more.

        The decision is marked unpublished until :meth:`mark_published`.
        """

    async def claim_pair_check(
        self, record_id: str, version: int, review: DuplicateReview
    ) -> Decision | None:
        """Record the check of the pairs a rejection names, atomically.

        Only on a record version rejected as an exact duplicate that names a pair
        (``linked``) and was not checked yet; None otherwise. Nothing is published: the
        record stays rejected, and the review is the Department's note of its check. It
        is marked unpublished (its effects pending) until :meth:`mark_published`.
        """

    async def add_distinct_pairs(self, pairs: Sequence[tuple[str, Mapping[str, str]]]) -> None:
        """Mark pairs distinct, keeping each side's fingerprint (idempotent)."""

    async def deactivate(self, record_id: str, version: int) -> None:
        """Stop offering the record's profile as a candidate, if it is still that version."""

    async def mark_published(self, record_id: str, version: int) -> None:
        """Note that the resolving event of a decision was acknowledged."""

    async def unpublished_reviews(self, limit: int) -> Sequence[Decision]:
        """Resolved decisions whose resolving event may not have been published."""

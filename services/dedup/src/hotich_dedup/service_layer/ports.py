"""Ports of the dedup service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class ExactKeyIndex(Protocol):
    """Atomic claim of register coordinates (natural keys) by records.

    The first record to claim a key owns it; the claim is a unique-index insert in the
    store, so two instances processing the same key at the same moment cannot both win.
    """

    async def claim(self, claims: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        """Claim ``(natural_key, record_id)`` pairs; return each key's owning record id."""


class InMemoryExactKeyIndex:
    """Fake of :class:`ExactKeyIndex` for unit tests."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    async def claim(self, claims: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        """Claim keys first-come-first-served."""
        for key, record_id in claims:
            self.owners.setdefault(key, record_id)
        return {key: self.owners[key] for key, _ in claims}

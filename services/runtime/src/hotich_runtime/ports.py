"""Ports every service shares, with the in-memory fakes unit tests use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hotich_contracts.envelope import EventBase


class Publisher(Protocol):
    """Publishes events; returns once the broker acknowledged all of them."""

    async def publish(self, topic: str, events: Sequence[EventBase]) -> None:
        """Publish ``events`` to ``topic``."""


class FakePublisher:
    """Keeps what was published, per topic, in memory."""

    def __init__(self) -> None:
        self.published: dict[str, list[EventBase]] = {}

    async def publish(self, topic: str, events: Sequence[EventBase]) -> None:
        """Append ``events`` to ``topic``'s list."""
        self.published.setdefault(topic, []).extend(events)

    def events(self, topic: str) -> list[EventBase]:
        """Return what was published to ``topic``."""
        return list(self.published.get(topic, []))

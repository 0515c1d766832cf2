"""What a consumer keeps of a message it read: where it came from (and its bytes, if kept).

Delivery needs of each message only its place (to commit, to log, to dead-letter) and,
for a handler that may set one aside with a
:class:`~hotich_runtime.errors.PermanentError`, its value. aiokafka's ``ConsumerRecord``
carries more (timestamps, sizes, the decoded headers: about 380 bytes a message before
its key and value), and a batch of 30,000 held beside its decoded events, with the next
one read ahead, kept ~20 MB of them alive. A consumer that drops values once decoded
keeps a :class:`MessageRef` instead (~75 bytes before the key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Message", "MessageRef"]


class Message(Protocol):
    """The parts of a consumed message delivery uses (``ConsumerRecord`` has them)."""

    @property
    def topic(self) -> str:
        """The topic it was read from."""

    @property
    def partition(self) -> int:
        """Its partition."""

    @property
    def offset(self) -> int:
        """Its offset in the partition."""

    @property
    def key(self) -> bytes | None:
        """Its key (the record id), if any."""

    @property
    def value(self) -> bytes | None:
        """Its bytes, or None once dropped."""


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message's topic, partition, offset and key, its value dropped once decoded."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: None = None

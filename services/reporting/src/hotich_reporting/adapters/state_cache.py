"""An in-process cache of record states with their store revisions (bounded, LRU).

The projection reads the prior state of every record a batch touches; most of those
records were written by this very process moments before (a record's four lifecycle
events arrive within seconds or minutes, on partitions this instance owns). The cache
keeps the state it last committed or read for each record, with the document's
revision ``n``, so those reads vanish.

The cache never decides what is stored: the projection writes a cached record only
with a filter on the revision it remembers (``{_id, n}``), so an entry made stale by
another instance (a partition that moved away and back, a second writer) matches no
document, the batch is refused (``ConflictError``) and applied again from the store. An
event a stale entry says is already folded in is folded in the stored state as well:
the stored states of a record only ever grow (each write is the merge of the state it
replaced, by revision), so skipping it loses nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from hotich_reporting.domain.lifecycle import RecordState
from hotich_runtime.metrics import CACHE_LOOKUPS

__all__ = ["Cached", "StateCache"]


@dataclass(frozen=True, slots=True)
class Cached:
    """A state as stored, with its document's revision (None: the document has none)."""

    revision: int | None
    state: RecordState


class StateCache:
    """Record id -> :class:`Cached`, at most ``capacity`` entries (least recently used out)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 0)
        self._entries: OrderedDict[str, Cached] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._hit = CACHE_LOOKUPS.labels("record_states", "hit")
        self._miss = CACHE_LOOKUPS.labels("record_states", "miss")

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._entries

    def get(self, record_id: str) -> Cached | None:
        """The entry of a record (now the most recently used), or None."""
        entry = self._entries.get(record_id)
        if entry is None:
            self.misses += 1
            self._miss.inc()
            return None
        self.hits += 1
        self._hit.inc()
        self._entries.move_to_end(record_id)
        return entry

    def put(self, record_id: str, entry: Cached) -> None:
        """Remember a committed (or just read) state."""
        if not self.capacity:
            return
        entries = self._entries
        entries[record_id] = entry
        entries.move_to_end(record_id)
        while len(entries) > self.capacity:
            entries.popitem(last=False)

    def forget(self, record_ids: Iterable[str]) -> None:
        """Drop some records (their batch failed or conflicted)."""
        for record_id in record_ids:
            self._entries.pop(record_id, None)

    def clear(self) -> None:
        """Drop everything (partitions revoked, projection cleared)."""
        self._entries.clear()

"""Per-record state of the projection and what each record contributes to the counters.

Reporting keeps one small state per record, folded from the record's lifecycle events,
and derives from it, by a pure function, every counter the record adds one to. When
an event changes the state, the record moves between counters: its old contributions
are taken away and its new ones added. So a record counts once, in its current status,
however many events it had.

The fold is built to give the same state whatever order the events arrive in and
however often each arrives (Kafka delivers at least once, and the four topics are read
independently): every part of the state is the *maximum* of something over the events
seen, which is commutative and idempotent:

* **status, phase, reasons, unit**: from the event of the newest record version with
  the highest :func:`order_key` (stage rank, then the step within the stage, then the
  time, then the event id);
* **late, not enterable**: from the newest validation of that version;
* **record facts** (type, register book, entry number): from the newest event that
  carries the record, by version first.

A rebuild that folds the whole topics again therefore reaches exactly the live states,
and the same counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

__all__ = [
    "ACCOUNTED_REASONS",
    "PHASE_BUCKETS",
    "STAGE_RANK",
    "Changes",
    "Contribution",
    "EventView",
    "RecordFacts",
    "RecordState",
    "Totals",
    "apply_slot_ops",
    "contributions",
    "fold",
    "merge",
    "order_key",
    "plan_changes",
    "slot_id",
    "timestamp",
    "totals",
]

STAGE_RANK: Final[dict[str, int]] = {
    "record.entered": 0,
    "record.validated": 1,
    "record.deduplicated": 2,
    "record.exported": 3,
}
"""Order of the lifecycle stages (as :data:`hotich_contracts.events.STAGE_RANK`)."""

_STEP: Final[dict[str, int]] = {
    # Within dedup, a suspicion comes before a reviewer's decision on it.
    "duplicate_suspected": 0,
    "accepted": 1,
    "rejected": 1,
    # Within export, a later success supersedes a failure (a repaired replay).
    "export_failed": 0,
    "exported": 1,
}

PHASE_BUCKETS: Final = ("1", "2", "3", "migration", "none", "pending")
"""Where a record is counted: a phase, ``none`` (validated, in no phase: out of scope) or
``pending`` (entered, not validated yet)."""

ACCOUNTED_REASONS: Final = frozenset(
    {"not_enterable", "out_of_scope_type", "out_of_scope_date", "marital_status_not_for_marriage"}
)
"""Rejections that settle a register entry: it is not to be entered (torn page, out of
the plan). Other rejections (a clerk's error) leave the entry to be keyed again."""

DUPLICATE_REASONS: Final = frozenset({"duplicate_exact", "duplicate_probable"})

OrderKey = tuple[int, int, str, str]
"""(stage rank, step within the stage, occurred_at, event_id)."""


def timestamp(moment: datetime) -> str:
    """A UTC ISO timestamp with microseconds: sorts as text in time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What reporting reads from the record itself (bản ghi)."""

    record_type: str
    book_key: str | None
    """See :func:`hotich_reporting.domain.books.book_key`; None when the book number is
    unreadable."""
    entry_key: str | None
    """See :func:`hotich_reporting.domain.books.entry_key`; None when unreadable."""


@dataclass(frozen=True, slots=True)
class EventView:
    """The part of one lifecycle event the projection uses.

    ``status`` is ``received`` for an entered event; ``phase`` is None for an entered
    event and for a record in no phase.
    """

    event_id: str
    event_type: str
    occurred_at: str
    record_id: str
    version: int
    unit_code: str
    status: str
    phase: str | None = None
    late: bool = False
    not_enterable: bool = False
    reasons: tuple[str, ...] = ()
    facts: RecordFacts | None = None

    @property
    def rank(self) -> int:
        """Stage rank of the event (entered 0 ... exported 3)."""
        return STAGE_RANK[self.event_type]


def order_key(view: EventView) -> OrderKey:
    """Which of two events of one record version is the later word on its status."""
    return (view.rank, _STEP.get(view.status, 0), view.occurred_at, view.event_id)


@dataclass(frozen=True, slots=True)
class RecordState:
    """Everything reporting knows of one record (the fold of its events)."""

    record_id: str
    unit_code: str
    version: int
    status: str
    status_key: OrderKey
    phase: str | None
    reasons: tuple[str, ...] = ()
    late: bool = False
    not_enterable: bool = False
    validation_key: tuple[str, str] | None = None
    facts: RecordFacts | None = None
    facts_key: tuple[int, int, int, str, str] | None = None

    @property
    def bucket(self) -> str:
        """The phase bucket the record is counted in (see :data:`PHASE_BUCKETS`)."""
        if self.status_key[0] == 0:
            return "pending"
        return self.phase if self.phase is not None else "none"

    @property
    def record_type(self) -> str:
        """The record's type, ``unknown`` until an event carrying the record arrived."""
        return self.facts.record_type if self.facts is not None else "unknown"


def merge(state: RecordState | None, view: EventView) -> RecordState:
    """Fold one event into a record's state (commutative and idempotent).

    Returns ``state`` itself when the event changes nothing (a repeat, or stale).
    """
    key = order_key(view)
    validation = (view.occurred_at, view.event_id) if view.rank == 1 else None
    facts_key = (view.version, *key) if view.facts is not None else None
    if state is None:
        return RecordState(
            record_id=view.record_id,
            unit_code=view.unit_code,
            version=view.version,
            status=view.status,
            status_key=key,
            phase=view.phase,
            reasons=view.reasons,
            late=view.late if validation else False,
            not_enterable=view.not_enterable if validation else False,
            validation_key=validation,
            facts=view.facts,
            facts_key=facts_key,
        )
    unit, version, status, status_key = (
        state.unit_code,
        state.version,
        state.status,
        state.status_key,
    )
    phase, reasons = state.phase, state.reasons
    late, not_enterable, validation_key = state.late, state.not_enterable, state.validation_key
    facts, known_facts = state.facts, state.facts_key
    changed = False
    if view.version > version:
        # A new version starts over: nothing said of the old one holds for it.
        unit, version, status, status_key = view.unit_code, view.version, view.status, key
        phase, reasons = view.phase, view.reasons
        late, not_enterable, validation_key = False, False, None
        changed = True
    elif view.version == version and key > status_key:
        unit, status, status_key, phase, reasons = (
            view.unit_code,
            view.status,
            key,
            view.phase,
            view.reasons,
        )
        changed = True
    if (
        validation is not None
        and view.version == version
        and (validation_key is None or validation > validation_key)
    ):
        late, not_enterable, validation_key = view.late, view.not_enterable, validation
        changed = True
    if facts_key is not None and (known_facts is None or facts_key > known_facts):
        facts, known_facts = view.facts, facts_key
        changed = True
    if not changed:
        return state
    return RecordState(
        record_id=state.record_id,
        unit_code=unit,
        version=version,
        status=status,
        status_key=status_key,
        phase=phase,
        reasons=reasons,
        late=late,
        not_enterable=not_enterable,
        validation_key=validation_key,
        facts=facts,
        facts_key=known_facts,
    )


def fold(views: Iterable[EventView], state: RecordState | None = None) -> RecordState | None:
    """Fold events into a state (None when there are none)."""
    for view in views:
        state = merge(state, view)
    return state


@dataclass(frozen=True, slots=True)
class Contribution:
    """The counters one record adds one to.

    Attributes:
        cell: (phase bucket, entering unit, record type).
        metrics: counter names in that cell (see :mod:`hotich_reporting.domain.metrics`).
        book_key: the register book, when the record is known.
        book_metrics: counter names of the book (``entered``, ``accounted``).
        slot: (book key, entry key) when the record accounts for that register entry.
        member: (phase, unit) of the acceptance lot the record belongs to, if accepted.
    """

    cell: tuple[str, str, str]
    metrics: tuple[str, ...]
    book_key: str | None = None
    book_metrics: tuple[str, ...] = ()
    slot: tuple[str, str] | None = None
    member: tuple[str, str] | None = None


def _metrics(state: RecordState) -> list[str]:
    status = state.status
    rank = state.status_key[0]
    metrics = ["entered", f"s_{status}"]
    if rank == 0:
        metrics.append("pending")
    passed_validation = rank >= 1 and not (status == "rejected" and rank == 1)
    if passed_validation:
        metrics.append("valid")
    if status == "rejected":
        metrics.append("rejected")
        metrics.extend(f"r_{code}" for code in sorted(set(state.reasons)))
        if rank == 1 and (state.not_enterable or "not_enterable" in state.reasons):
            metrics.append("not_enterable")
        if rank >= 2 and DUPLICATE_REASONS.intersection(state.reasons):
            metrics.append("duplicate_confirmed")
    elif status == "duplicate_suspected":
        metrics.append("duplicate_suspected")
    elif status in ("accepted", "exported", "export_failed"):
        metrics.append("accepted")
        if status != "accepted":
            metrics.append(status)
    if state.late and passed_validation:
        metrics.append("late")
    return metrics


def contributions(state: RecordState) -> Contribution:
    """What ``state`` adds to the counters (a pure function of the state)."""
    metrics = tuple(_metrics(state))
    cell = (state.bucket, state.unit_code, state.record_type)
    facts = state.facts
    if facts is None or facts.book_key is None:
        return Contribution(cell, metrics, member=_member(state, metrics))
    accounted = state.status != "rejected" or (
        ACCOUNTED_REASONS.intersection(state.reasons)
        and not DUPLICATE_REASONS.intersection(state.reasons)
    )
    return Contribution(
        cell,
        metrics,
        book_key=facts.book_key,
        book_metrics=("entered", "accounted") if accounted else ("entered",),
        slot=(facts.book_key, facts.entry_key) if accounted and facts.entry_key else None,
        member=_member(state, metrics),
    )


def _member(state: RecordState, metrics: tuple[str, ...]) -> tuple[str, str] | None:
    if "accepted" in metrics and state.bucket in ("1", "2", "3", "migration"):
        return (state.bucket, state.unit_code)
    return None


@dataclass
class Changes:
    """What a set of events changes: new states and counter deltas.

    Attributes:
        states: record id -> (state before, state after), only for records that changed.
        cells: (bucket, unit, type, metric) -> delta.
        books: (book key, metric) -> delta.
        slots: (book key, entry key, record id, add) membership changes of entries.
        members: (phase, unit, record id, add) membership changes of acceptance lots.
    """

    states: dict[str, tuple[RecordState | None, RecordState]] = field(default_factory=dict)
    cells: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    books: Counter[tuple[str, str]] = field(default_factory=Counter)
    slots: list[tuple[str, str, str, bool]] = field(default_factory=list)
    members: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def add(self, record_id: str, before: Contribution | None, after: Contribution) -> None:
        """Move a record from its old counters to its new ones."""
        if before is not None:
            for metric in before.metrics:
                self.cells[(*before.cell, metric)] -= 1
            if before.book_key is not None:
                for metric in before.book_metrics:
                    self.books[(before.book_key, metric)] -= 1
        for metric in after.metrics:
            self.cells[(*after.cell, metric)] += 1
        if after.book_key is not None:
            for metric in after.book_metrics:
                self.books[(after.book_key, metric)] += 1
        old_slot = before.slot if before is not None else None
        if old_slot != after.slot:
            if old_slot is not None:
                self.slots.append((*old_slot, record_id, False))
            if after.slot is not None:
                self.slots.append((*after.slot, record_id, True))
        old_member = before.member if before is not None else None
        if old_member != after.member:
            if old_member is not None:
                self.members.append((*old_member, record_id, False))
            if after.member is not None:
                self.members.append((*after.member, record_id, True))

    def compact(self) -> None:
        """Drop zero deltas."""
        self.cells = Counter({k: v for k, v in self.cells.items() if v})
        self.books = Counter({k: v for k, v in self.books.items() if v})


def plan_changes(before: Mapping[str, RecordState], views: Iterable[EventView]) -> Changes:
    """Fold ``views`` into the states ``before`` and return what changed.

    Args:
        before: the current states of (at least) the records the views are about.
        views: events, in any order, repeats allowed.
    """
    after: dict[str, RecordState] = {}
    for view in views:
        current = after.get(view.record_id) or before.get(view.record_id)
        after[view.record_id] = merge(current, view)
    changes = Changes()
    for record_id, new in after.items():
        old = before.get(record_id)
        if new == old:
            continue
        changes.states[record_id] = (old, new)
        changes.add(record_id, contributions(old) if old is not None else None, contributions(new))
    changes.compact()
    return changes


def slot_id(book_key: str, entry_key: str) -> str:
    """Id of one register entry (a *slot*): ``<book key>|<entry key>``."""
    return f"{book_key}|{entry_key}"


def apply_slot_ops(
    current: Mapping[str, frozenset[str]], ops: Iterable[tuple[str, str, str, bool]]
) -> tuple[dict[str, frozenset[str]], Counter[tuple[str, str]]]:
    """Apply membership changes to register entries.

    Args:
        current: slot id -> records accounting for it now (absent = none), for at least
            every slot the ops touch.
        ops: (book key, entry key, record id, add) as in :attr:`Changes.slots`.

    Returns:
        The new record sets of the touched slots (empty = the entry is open again), and
        the change of each book's ``covered`` counter (distinct entries accounted for).
    """
    touched: dict[str, frozenset[str]] = {}
    book_of: dict[str, str] = {}
    for book, entry, record_id, add in ops:
        sid = slot_id(book, entry)
        book_of[sid] = book
        members = set(touched.get(sid, current.get(sid, frozenset())))
        if add:
            members.add(record_id)
        else:
            members.discard(record_id)
        touched[sid] = frozenset(members)
    covered: Counter[tuple[str, str]] = Counter()
    for sid, now in touched.items():
        was = bool(current.get(sid))
        if was != bool(now):
            covered[(book_of[sid], "covered")] += 1 if now else -1
    return touched, covered


@dataclass
class Totals:
    """Every counter a set of record states adds up to (what a rebuild writes).

    Attributes:
        cells: (bucket, unit, type) -> metric -> count.
        books: book key -> metric -> count.
        slots: slot id -> records accounting for it.
        members: (phase, unit) -> record ids of the acceptance lot.
    """

    cells: dict[tuple[str, str, str], Counter[str]] = field(default_factory=dict)
    books: dict[str, Counter[str]] = field(default_factory=dict)
    slots: dict[str, set[str]] = field(default_factory=dict)
    members: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def add(self, state: RecordState) -> None:
        """Add one record's contributions."""
        c = contributions(state)
        self.cells.setdefault(c.cell, Counter()).update(c.metrics)
        if c.book_key is not None:
            self.books.setdefault(c.book_key, Counter()).update(c.book_metrics)
        if c.slot is not None:
            sid = slot_id(*c.slot)
            members = self.slots.get(sid)
            if members is None:
                members = self.slots[sid] = set()
                self.books.setdefault(c.slot[0], Counter())["covered"] += 1
            members.add(state.record_id)
        if c.member is not None:
            self.members.setdefault(c.member, set()).add(state.record_id)


def totals(states: Iterable[RecordState]) -> Totals:
    """The counters of ``states``: what incremental updates must always equal."""
    result = Totals()
    for state in states:
        result.add(state)
    return result

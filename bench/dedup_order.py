"""Which duplicate groups dedup's outcome depends on the arrival order of.

Usage::

    uv run python bench/dedup_order.py --total 300000

It takes the end-to-end benchmark's workload (``hotich_local.bench``: the generator's
registers, seed 2547), the groups of three or more records the truth links by
``duplicate_of`` with at least one probable duplicate, and feeds each group alone
through dedup's real use case (``deduplicate``, in-memory store) in every order of its
members, one record at a time and all in one wave. It prints each group whose outcome
counts (accepted / suspected / rejected) differ from those of the stream order, with
the order that changes them.

Found with it (2026-12-07, 300,000 records): 4 of 185 such groups. In three, two noisy
copies arrive before their original and are too different from each other to match
(two noise steps apart): both are accepted, and the original, which matches both, is
held. In the fourth, a probable duplicate of a death ("Nguyễn Ngọc Nhhân" for
"Nguyễn Ngọc Nhân") was keyed again from the same register entry with one more typo
("Nguynễ Ngọc Nhhân"): arriving first, that re-keying is too far from the original and is
accepted, and the probable duplicate, arriving after it, is rejected as its exact
duplicate (the same register entry). All four are two noise steps from the record
they would have matched. The benchmark's concurrent clients make such
orders: its 300,000-record run exported 1 probable duplicate, the whole backlog's 2.

Since then a suspect names the candidates it matches that were never held as
duplicates of each other (``Decision.linked``, listed by ``GET
/v1/duplicates?linked=true``), and so does a record rejected as an exact duplicate
whose keying matches a record its original's does not; a rejected keying is kept beside
its record and compared as it (``MatchProfile.as_keying_of``). The script now tries
every order of each group (one record at a time, and all in one wave) and prints, for
each group, how many orders change the outcome and how many of those accept a
duplicate beside its original without naming the pair, against the truth (every order
checked, the stream order too). On the whole backlog (``--total 1366849``,
2026-12-07): 11 of the 914 groups of three to six records depend on the order, in 212
orders (71 larger groups are not tried); before the keyings 2 of them (re-keyings)
could end with a duplicate accepted and nothing named; now no order of any group does.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from hotich_contracts.events import RecordStatus, RecordValidated
from hotich_contracts.plan import load_plan
from hotich_contracts.units import default_registry
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_local import bench
from hotich_local.synth import generate
from hotich_local.synth.events import entered_event
from hotich_runtime.ports import FakePublisher
from hotich_validation.service_layer.handlers import Validator


@dataclass
class Outcome:
    """What dedup made of one order of a group."""

    counts: Counter[str]
    accepted: list[str]
    linked: set[tuple[str, str]]
    """Pairs named by a suspect as matching it but not each other."""

    @property
    def flagged(self) -> bool:
        """Whether a suspect names two of the accepted records as linked."""
        return any(
            (a, b) in self.linked or (b, a) in self.linked
            for a, b in itertools.combinations(self.accepted, 2)
        )


async def outcomes(order: Sequence[RecordValidated], one_by_one: bool) -> Outcome:
    """Outcome of ``order`` through dedup on a fresh store."""
    store, publisher = InMemoryDedupStore(), FakePublisher()
    waves = [[e] for e in order] if one_by_one else [list(order)]
    got = Outcome(Counter(), [], set())
    for wave in waves:
        for outcome in await deduplicate(wave, store=store, publisher=publisher):
            got.counts[outcome.payload.status.value] += 1
            if outcome.payload.status == RecordStatus.ACCEPTED:
                got.accepted.append(outcome.record_id)
    got.linked = {pair for d in store.kept.values() for pair in d.linked}
    return got


async def main() -> None:
    """Print the groups whose outcome depends on the order."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--total", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=2547)
    args = parser.parse_args()
    expected = bench.expected_outcomes(bench.BenchOptions(records=args.total, seed=args.seed))
    groups: dict[int, list[int]] = defaultdict(list)
    for seq, root in expected.group_of.items():
        groups[root].append(seq)
    chosen = [
        sorted(members)
        for members in groups.values()
        if len(members) >= 3 and "duplicate_suspected" in {expected.labels[s] for s in members}
    ]
    wanted = {seq for members in chosen for seq in members}
    validator = Validator(plan=load_plan(), registry=default_registry())
    valid: dict[int, RecordValidated] = {}
    for item in generate(bench.generation_config(args.total, args.seed)):
        seq = bench.truth_seq(item["truth"]["id"])
        if seq in wanted:
            event = validator.validate(entered_event(item, actor="clerk"))
            if event.payload.status == RecordStatus.VALID:
                valid[seq] = event
    changed = flagged = orders_changed = orders_unflagged = skipped = 0
    for members in chosen:
        seqs = [s for s in members if s in valid]
        if len(seqs) > 6:  # 720 orders and more: not tried
            skipped += 1
            continue
        # What the truth accepts of the group (its valid members labelled exported).
        truth_accepted = sum(expected.labels[s] == "exported" for s in seqs)
        stream = await outcomes([valid[s] for s in seqs], one_by_one=True)
        found: list[tuple[tuple[int, ...], bool, Outcome]] = []
        unflagged: list[tuple[tuple[int, ...], bool, Outcome]] = []
        for order in itertools.permutations(seqs):  # the stream order among them
            for one_by_one in (True, False):
                got = await outcomes([valid[s] for s in order], one_by_one)
                if got.counts != stream.counts:
                    found.append((order, one_by_one, got))
                # A duplicate accepted beside its original, and nothing names the pair.
                if got.counts["accepted"] > truth_accepted and not got.flagged:
                    unflagged.append((order, one_by_one, got))
        orders_unflagged += len(unflagged)
        if found or unflagged:
            changed += bool(found)
            flagged += bool(found) and not unflagged
            orders_changed += len(found)
            order, one_by_one, got = (unflagged or found)[0]
            how = "one at a time" if one_by_one else "in one wave"
            named = "named linked" if got.flagged else "NOT named linked"
            print(
                f"group {seqs}: {len(found)} orders change the outcome, {len(unflagged)} "
                f"orders accept a duplicate unnamed; e.g. {list(order)} ({how}) "
                f"{dict(got.counts)}, {named}; in stream order {dict(stream.counts)}, the "
                f"truth accepts {truth_accepted}"
            )
    tried = len(chosen) - skipped
    print(f"{changed} of {tried} groups of three to six records depend on the order")
    print(f"({skipped} groups of more than six records not tried)")
    print(f"{flagged} of those {changed} name the pair in every order accepting a duplicate")
    print(
        f"{orders_changed} orders (one at a time or in one wave) change an outcome; "
        f"{orders_unflagged} orders of any group accept a duplicate beside its original "
        "and name no pair"
    )


if __name__ == "__main__":
    asyncio.run(main())

"""How dedup's blocking keys scale: block sizes as the profiles of the backlog pile up.

Run ``uv run python bench/dedup_blocks.py`` (``--total``, ``--seed``, ``--output``). It
generates the registers with ``hotich_local.synth``, builds the match profile of every
record dedup would hold (the truth's valid records and exact re-keyings, in stream
order) and, before adding each profile, counts the profiles already in each of its
blocks: the candidates its lookup would bring back, summed over its keys (a profile in
two of its blocks counts twice, so this is an upper bound of the candidates scored).
The mean per record is printed for windows ending at 50k, 100k, 200k, 400k, 700k,
1M and 1.3M profiles, by kind of key (``type|kind|role``), with the largest block of
each kind, and the distinct profiles met (what a lookup returns). For every true
probable duplicate it also counts the kinds of key it shares with its original: a kind
that is the only one for some pairs cannot be narrowed without losing them, and a pair
sharing none cannot be found. Domain only: no store, no scoring; the whole backlog
takes ~3 minutes.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from hotich_dedup.domain.profile import build_profile
from hotich_local.synth import PLAN_TOTAL
from hotich_local.synth.events import dedup_inputs

MARKS = (50_000, 100_000, 200_000, 400_000, 700_000, 1_000_000, 1_300_000)


def kind(key: str) -> str:
    """``type|kind`` of a key, with the role for the per-person kinds."""
    parts = key.split("|")
    role = f"|{parts[2]}" if parts[1] in ("n", "d", "p") else ""
    return f"{parts[0]}|{parts[1]}{role}"


def measure(total: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Windows of mean block sizes met per record, and the true pairs' shared kinds."""
    blocks: defaultdict[str, list[int]] = defaultdict(list)
    window: defaultdict[str, int] = defaultdict(int)
    in_window = held = distinct = 0
    rows: list[dict[str, Any]] = []
    keys_of: dict[str, tuple[str, ...]] = {}
    shared_kinds: Counter[int] = Counter()
    only_kind: Counter[str] = Counter()

    def close_window() -> None:
        largest: Counter[str] = Counter()
        for key, members in blocks.items():
            largest[kind(key)] = max(largest[kind(key)], len(members))
        by_kind = sorted(window.items(), key=lambda kv: -kv[1])
        rows.append(
            {
                "profiles": held,
                "records_in_window": in_window,
                "met_per_record": round(sum(window.values()) / max(in_window, 1), 2),
                "distinct_met_per_record": round(distinct / max(in_window, 1), 2),
                "by_kind": {k: round(v / max(in_window, 1), 2) for k, v in by_kind if v},
                "largest_block": dict(largest.most_common(12)),
            }
        )
        print(
            f"{held:>9,} profiles: {rows[-1]['met_per_record']:>6} met per record"
            f" ({rows[-1]['distinct_met_per_record']} distinct);"
            f" top {list(rows[-1]['by_kind'].items())[:4]}",
            flush=True,
        )

    for truth, record in dedup_inputs(total, seed):
        profile = build_profile(
            record, record_id=truth["id"], version=1, unit_code=truth["entering_unit_code"]
        )
        if profile is None:
            continue
        met: set[int] = set()
        for key in profile.blocking_keys:
            window[kind(key)] += len(blocks[key])
            met.update(blocks[key])
            blocks[key].append(held)
        distinct += len(met)
        keys_of[truth["id"]] = profile.blocking_keys
        original = keys_of.get(truth.get("duplicate_of") or "")
        if truth.get("duplicate_kind") == "probable" and original is not None:
            kinds = {kind(k) for k in set(profile.blocking_keys) & set(original)}
            shared_kinds[len(kinds)] += 1
            if len(kinds) == 1:
                only_kind[kinds.pop()] += 1
        in_window += 1
        held += 1
        if held in MARKS:
            close_window()
            window.clear()
            in_window = distinct = 0
    if in_window:
        close_window()
    pairs = {
        "true_probable_pairs": sum(shared_kinds.values()),
        "pairs_by_kinds_shared": {str(n): c for n, c in sorted(shared_kinds.items())},
        "pairs_found_by_one_kind_only": dict(only_kind.most_common()),
    }
    print(f"true probable pairs by kinds of key shared: {pairs['pairs_by_kinds_shared']}")
    print(f"found by one kind only: {pairs['pairs_found_by_one_kind_only']}")
    return rows, pairs


def main() -> None:
    """Measure, print and (optionally) write the windows."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=PLAN_TOTAL, help="items to generate")
    parser.add_argument("--seed", type=int, default=2547)
    parser.add_argument("--output", type=Path, default=None, help="write the windows as JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    rows, pairs = measure(args.total, args.seed)
    print(f"{time.perf_counter() - started:.0f} s")
    if args.output is not None:
        result = {"total": args.total, "seed": args.seed, "windows": rows, **pairs}
        args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

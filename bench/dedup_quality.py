"""Quality and speed of duplicate detection on labelled synthetic registers.

Run ``uv run python bench/dedup_quality.py`` (``--total``, ``--seed``, ``--batch``,
``--threshold``, ``--output`` to vary it). It generates the registers with
``hotich_local.synth`` (typos, diacritic variants, middle names left out, partial dates,
exact and probable duplicates at the generator's rates, each labelled), keeps what
validation lets through (the truth's valid records and the exact re-keyings of them),
and feeds them, in stream order and in batches like the Kafka consumer's, to dedup's
real use case (``deduplicate``) on the in-memory store. Then it compares the outcomes
with the truth:

* probable duplicates: a record flagged ``duplicate_suspected`` is a true positive when
  its truth is a probable duplicate and a candidate is in the same truth cluster (the
  record it duplicates, or another duplicate of it);
* exact duplicates: a record rejected ``duplicate_exact`` is a true positive when the
  original it names is in the same cluster.

* linked candidates: how many suspects name a pair of candidates never held as
  duplicates of each other (``Decision.linked``), and how many of those pairs the truth
  puts in one cluster (one event, both copies accepted: what the Department should fix).

It prints precision, recall and F1 of each, recall by the variant the duplicate carries,
and the throughput of the use case (records per second, one process, the fake store),
and of the domain layer alone (profiles, blocking, scoring on an in-memory index).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from hotich_contracts.events import RecordStatus, RecordValidated, RecordValidatedPayload
from hotich_contracts.reasons import ReasonCode
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.adapters.mongo_store import MongoDedupStore, decision_id
from hotich_dedup.domain.matching import ProfileIndex, find_matches
from hotich_dedup.domain.model import Decision, register_key
from hotich_dedup.domain.profile import build_profile
from hotich_dedup.domain.scoring import DEFAULT_RULES, MatchRules
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_dedup.service_layer.ports import DedupStore
from hotich_local.synth.events import dedup_inputs
from hotich_runtime import mongo
from hotich_runtime.ports import FakePublisher


class _NullPublisher(FakePublisher):
    """Keeps nothing: the benchmark reads the outcomes the use case returns."""

    async def publish(self, topic: str, events: Any) -> None:
        return None


def _load(total: int, seed: int) -> list[tuple[dict[str, Any], RecordValidated]]:
    """The generated items that reach dedup, as validated events."""
    items = []
    for truth, record in dedup_inputs(total, seed):
        event = RecordValidated(
            actor="service:validation",
            correlation_id=truth["id"],
            record_id=truth["id"],
            record_version=1,
            unit_code=truth["entering_unit_code"],
            payload=RecordValidatedPayload(
                status=RecordStatus.VALID,
                phase=truth["phase"],  # type: ignore[arg-type]  # the truth's phase literal
                record=record,
            ),
        )
        items.append((dict(truth), event))
    return items


def _clusters(truths: list[dict[str, Any]]) -> dict[str, str]:
    """Union-find over ``duplicate_of`` links: record id -> cluster id."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for truth in truths:
        if truth["duplicate_of"]:
            parent[find(truth["id"])] = find(truth["duplicate_of"])
    return {t["id"]: find(t["id"]) for t in truths}


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


async def _run_use_case(
    events: list[RecordValidated], batch: int, rules: MatchRules, store: DedupStore | None = None
) -> tuple[dict[str, Any], float, list[Decision]]:
    """Outcomes by record id, seconds, and the suspects naming linked candidates."""
    store = store or InMemoryDedupStore()
    publisher = _NullPublisher()
    outcomes: dict[str, Any] = {}
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        for outcome in await deduplicate(chunk, store=store, publisher=publisher, rules=rules):
            outcomes[outcome.record_id] = outcome
    elapsed = time.perf_counter() - started
    linked: list[Decision] = []
    after = None
    while True:
        page = await store.list_suspects(
            units=None, state=None, limit=500, after=after, linked=True
        )
        linked += page
        if len(page) < 500:
            return outcomes, elapsed, linked
        after = decision_id(page[-1].record_id, page[-1].version)


async def _run_on_mongo(
    url: str, events: list[RecordValidated], batch: int, rules: MatchRules
) -> tuple[dict[str, Any], float, list[Decision]]:
    """The use case on the real store, in a database of its own (dropped afterwards)."""
    client = mongo.make_client(url, app_name="bench-dedup")
    name = f"bench_dedup_{uuid.uuid4().hex[:8]}"
    try:
        store = MongoDedupStore(client[name])
        await store.ensure_indexes()
        return await _run_use_case(events, batch, rules, store)
    finally:
        await client.drop_database(name)
        client.close()


def _run_domain(events: list[RecordValidated], rules: MatchRules) -> tuple[float, float]:
    """Profiles, blocking and scoring alone; returns (seconds, mean candidates scored)."""
    owners: dict[str, str] = {}
    index = ProfileIndex()
    compared = 0
    started = time.perf_counter()
    for event in events:
        record = event.payload.record
        if owners.setdefault(register_key(record), event.record_id) != event.record_id:
            continue
        profile = build_profile(
            record, record_id=event.record_id, version=1, unit_code=event.unit_code
        )
        if profile is None:
            continue
        candidates = index.lookup(profile.blocking_keys)
        compared += len(candidates)
        find_matches(profile, candidates, rules)
        index.put(profile)
    return time.perf_counter() - started, compared / max(1, len(events))


def evaluate_linked(truths: list[dict[str, Any]], linked: list[Decision]) -> dict[str, int]:
    """How many suspects name linked candidates, and how many of the pairs are one event."""
    cluster = _clusters(truths)
    pairs = [pair for d in linked for pair in d.linked]
    same = sum(cluster.get(a) is not None and cluster.get(a) == cluster.get(b) for a, b in pairs)
    return {"suspects_naming_linked": len(linked), "pairs": len(pairs), "pairs_one_event": same}


def evaluate(truths: list[dict[str, Any]], outcomes: dict[str, Any]) -> dict[str, Any]:
    """Precision, recall and F1 of probable and exact duplicates against the truth."""
    cluster = _clusters(truths)
    prob = Counter[str]()
    exact = Counter[str]()
    by_variant: dict[str, Counter[str]] = {}
    by_type: dict[str, Counter[str]] = {}
    for truth in truths:
        rid = truth["id"]
        outcome = outcomes[rid]
        status = outcome.payload.status
        kind = truth["duplicate_kind"]
        if status == RecordStatus.DUPLICATE_SUSPECTED:
            hit = kind == "probable" and any(
                cluster.get(c.record_id) == cluster[rid] for c in outcome.payload.candidates
            )
            prob["tp" if hit else "fp"] += 1
        elif kind == "probable":
            prob["fn"] += 1
        if kind == "probable":
            found = status == RecordStatus.DUPLICATE_SUSPECTED and any(
                cluster.get(c.record_id) == cluster[rid] for c in outcome.payload.candidates
            )
            variants = [
                n
                for n in truth["noise"]
                if n in ("diacritic_variant", "typo", "middle_name_dropped")
            ] or ["unchanged"]
            for variant in variants:
                by_variant.setdefault(variant, Counter())["found" if found else "missed"] += 1
            by_type.setdefault(truth["record_type"], Counter())["found" if found else "missed"] += 1
        exact_reason = [r for r in outcome.payload.reasons if r.code == ReasonCode.DUPLICATE_EXACT]
        if exact_reason:
            hit = kind == "exact" and cluster.get(exact_reason[0].related_record_id) == cluster[rid]
            exact["tp" if hit else "fp"] += 1
        elif kind == "exact":
            exact["fn"] += 1
    return {
        "probable": _prf(prob["tp"], prob["fp"], prob["fn"]),
        "exact": _prf(exact["tp"], exact["fp"], exact["fn"]),
        "probable_recall_by_variant": {
            k: round(v["found"] / (v["found"] + v["missed"]), 4)
            for k, v in sorted(by_variant.items())
        },
        "probable_by_type": {k: dict(v) for k, v in sorted(by_type.items())},
    }


def main() -> None:
    """Generate, deduplicate, compare with the truth, print (and write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=50_000, help="items to generate")
    parser.add_argument("--seed", type=int, default=2547)
    parser.add_argument("--batch", type=int, default=500, help="records per consumer batch")
    parser.add_argument("--threshold", type=float, default=DEFAULT_RULES.threshold)
    parser.add_argument("--output", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument(
        "--mongodb-url",
        default=None,
        help="also run the use case on this MongoDB (e.g. the local stack's) and time it",
    )
    parser.add_argument(
        "--mongodb-records", type=int, default=20_000, help="records to run on MongoDB"
    )
    args = parser.parse_args()
    rules = dataclasses.replace(DEFAULT_RULES, threshold=args.threshold)

    started = time.perf_counter()
    loaded = _load(args.total, args.seed)
    truths = [t for t, _ in loaded]
    events = [e for _, e in loaded]
    generated_s = time.perf_counter() - started

    outcomes, use_case_s, linked = asyncio.run(_run_use_case(events, args.batch, rules))
    domain_s, mean_candidates = _run_domain(events, rules)
    figures = {
        "generated_items": args.total,
        "seed": args.seed,
        "records_deduplicated": len(events),
        "threshold_points": rules.threshold,
        "truth_probable_duplicates": sum(t["duplicate_kind"] == "probable" for t in truths),
        "truth_exact_duplicates": sum(t["duplicate_kind"] == "exact" for t in truths),
        **evaluate(truths, outcomes),
        "linked": evaluate_linked(truths, linked),
        "statuses": dict(Counter(str(o.payload.status) for o in outcomes.values())),
        "use_case_records_per_s": round(len(events) / use_case_s),
        "domain_records_per_s": round(len(events) / domain_s),
        "mean_candidates_scored": round(mean_candidates, 2),
        "generation_and_parsing_s": round(generated_s, 1),
    }
    if args.mongodb_url:
        subset = events[: args.mongodb_records]
        on_mongo, mongo_s, _ = asyncio.run(
            _run_on_mongo(args.mongodb_url, subset, args.batch, rules)
        )
        same = all(
            on_mongo[e.record_id].payload.status == outcomes[e.record_id].payload.status
            for e in subset
        )
        figures["mongodb_records"] = len(subset)
        figures["mongodb_use_case_records_per_s"] = round(len(subset) / mongo_s)
        figures["mongodb_same_outcomes_as_in_memory"] = same
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if args.output is not None:
        args.output.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

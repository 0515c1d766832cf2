"""Measure rule evaluation in one process: ``Validator.validate`` over synthetic records.

Usage::

    uv run python bench/validation_rules.py [--total 50000] [--repeat 3] [--profile]
        [--out bench/results/validation_rules.json]

Builds ``RecordEntered`` events from the synthetic generator (``hotich_local.synth``),
each entered on the day its ground truth says, then times ``Validator.validate`` over
all of them: the domain rules (phase, entering unit, mandatory fields, consistency) and
the outcome event, no broker, no serialization. The goal is at least 20,000 records/s
per process. Building the events is not timed. The outcomes are also compared with the
generator's ground truth, as a check that the measured work is the real one.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import sys
import time
from datetime import date, datetime
from datetime import time as day_time
from pathlib import Path

from hotich_contracts.events import RecordEntered, RecordEnteredPayload
from hotich_contracts.plan import load_plan
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.records import parse_record
from hotich_contracts.units import default_registry
from hotich_local.synth import GenerationConfig, generate
from hotich_validation.service_layer.handlers import VIETNAM, Validator

GOAL_PER_SECOND = 20_000


def build_events(
    total: int, seed: int
) -> tuple[list[RecordEntered], list[list[str]], list[object]]:
    """Entered events of the generator's well-formed items, with expected codes and phases."""
    config = GenerationConfig(seed=seed, total=total, province_level=max(1, total // 60))
    events: list[RecordEntered] = []
    expected: list[list[str]] = []
    phases: list[object] = []
    for item in generate(config):
        truth = item["truth"]
        if truth["malformed"]:
            continue
        noon = datetime.combine(date.fromisoformat(truth["entered_on"]), day_time(12), VIETNAM)
        events.append(
            RecordEntered(
                actor="bench",
                correlation_id=truth["id"],
                record_id=truth["id"],
                record_version=1,
                unit_code=truth["entering_unit_code"],
                occurred_at=noon,
                payload=RecordEnteredPayload(record=parse_record(item["record"])),
            )
        )
        expected.append([c for c in truth["reasons"] if c != ReasonCode.DUPLICATE_EXACT])
        phases.append(truth["phase"])
    return events, expected, phases


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print (and optionally write) the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=50_000, help="synthetic items to generate")
    parser.add_argument("--seed", type=int, default=2547)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best counts")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one pass")
    parser.add_argument("--out", type=Path, help="write the result as JSON")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    events, expected, phases = build_events(args.total, args.seed)
    built_in = time.perf_counter() - started
    validator = Validator(plan=load_plan(), registry=default_registry())

    outcomes = [validator.validate(e) for e in events]  # warm-up, and the check below
    agree = sum(
        [r.code for r in o.payload.reasons] == codes and o.payload.phase == phase
        for o, codes, phase in zip(outcomes, expected, phases, strict=True)
    )
    passes: list[float] = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        for event in events:
            validator.validate(event)
        passes.append(time.perf_counter() - began)
    best = min(passes)
    result = {
        "benchmark": "validation_rules",
        "records": len(events),
        "records_per_second": round(len(events) / best),
        "microseconds_per_record": round(best / len(events) * 1e6, 2),
        "passes_seconds": [round(p, 3) for p in passes],
        "median_records_per_second": round(len(events) / statistics.median(passes)),
        "goal_records_per_second": GOAL_PER_SECOND,
        "meets_goal": len(events) / best >= GOAL_PER_SECOND,
        "agreement_with_ground_truth": f"{agree}/{len(events)}",
        "valid": sum(o.payload.status == "valid" for o in outcomes),
        "rejected": sum(o.payload.status == "rejected" for o in outcomes),
        "events_built_seconds": round(built_in, 1),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for event in events:
            validator.validate(event)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

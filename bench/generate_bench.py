"""Benchmark of ``hotich generate``: the plan's 1,366,849 records written as NDJSON.

Run ``uv run python bench/generate_bench.py`` (``--total``, ``--output``, ``--format``
to vary it). Prints the elapsed time and records per second; the goal is at most two
minutes for the full 1.37 M on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import time

from hotich_local.synth.generator import generate
from hotich_local.synth.model import PLAN_TOTAL, GenerationConfig
from hotich_local.synth.writers import open_output, write_csv, write_ndjson


def main() -> None:
    """Generate to /dev/null (or a file) and report the speed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=PLAN_TOTAL)
    parser.add_argument("--seed", type=int, default=2547)
    parser.add_argument("--output", default=os.devnull)
    parser.add_argument("--format", choices=("ndjson", "csv"), default="ndjson")
    args = parser.parse_args()

    config = GenerationConfig(seed=args.seed, total=args.total)
    started = time.perf_counter()
    with open_output(args.output) as handle:
        writer = write_csv if args.format == "csv" else write_ndjson
        count = writer(generate(config), handle)
    elapsed = time.perf_counter() - started
    print(f"records:   {count:,}")
    print(f"elapsed:   {elapsed:.1f} s")
    print(f"records/s: {count / elapsed:,.0f}")


if __name__ == "__main__":
    main()

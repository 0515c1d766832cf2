"""Store CPU of dedup's candidate lookups among many stored profiles, by ``$in`` list size.

Run ``uv run python bench/dedup_lookups.py --total 300000`` (``--probe``, ``--chunks``,
``--seed``). It generates the registers (``hotich_local.synth``), builds the match
profile of every record dedup would hold, stores all but the last ``--probe`` of them
through :class:`~hotich_dedup.adapters.mongo_store.MongoDedupStore` in a fresh local
SecantusDB (standalone, as the local stack runs dedup's store beside intake), then looks
up the last ones' candidates in waves of 250 for each list size, measuring the store
process's CPU (``/proc``). The probes are not stored first (dedup stores a wave before
its lookup, and then finds each profile once more, by its own keys): this isolates what
the list's length costs per document found and per query. The whole backlog (``--total 1366849``) takes ~13 minutes
and ~2.5 GB here, most of it generating and storing 1.13 million profiles.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from hotich_dedup.adapters import mongo_store
from hotich_dedup.domain.model import RecordState
from hotich_dedup.domain.profile import MatchProfile, build_profile
from hotich_local.bench import cpu_seconds
from hotich_local.infra.mongo import SecantusServer
from hotich_local.infra.procs import free_port
from hotich_local.synth.events import dedup_inputs
from hotich_runtime import mongo

WAVE = 250


def _cpu_s(pid: int) -> float:
    return cpu_seconds(pid) or 0.0


def _profiles(total: int, seed: int) -> list[MatchProfile]:
    found = []
    for _truth, record in dedup_inputs(total, seed):
        unit = record.registering_authority_code or record.storing_unit_code or "*"
        profile = build_profile(record, record_id=str(uuid.uuid4()), version=1, unit_code=unit)
        if profile is not None:
            found.append(profile)
    return found


async def main(args: argparse.Namespace) -> None:
    """Store the profiles, then time the lookups of the last ones for each list size."""
    profiles = _profiles(args.total, args.seed)
    held, probe = profiles[: -args.probe], profiles[-args.probe :]
    with tempfile.TemporaryDirectory() as tmp:
        server = SecantusServer(
            Path(tmp) / "data", port=free_port(), standalone=True, cache_size=args.cache_size
        )
        pid = server.start(Path(tmp) / "store.log")
        client = mongo.make_client(server.url, app_name="bench-dedup-lookups")
        try:
            await server.wait_ready()
            store = mongo_store.MongoDedupStore(client["bench_dedup"])
            await store.ensure_indexes()
            started = time.monotonic()
            for start in range(0, len(held), 2000):
                await store.save_states(
                    [
                        RecordState(p.record_id, 1, p.record_id, p, active=True)
                        for p in held[start : start + 2000]
                    ]
                )
            print(f"stored {len(held):,} profiles in {time.monotonic() - started:.0f} s")
            for chunk in args.chunks:
                mongo_store.IN_CHUNK = chunk
                cpu, wall, found = _cpu_s(pid), time.monotonic(), 0
                for start in range(0, len(probe), WAVE):
                    wave = probe[start : start + WAVE]
                    found += len(await store.candidates([p.blocking_keys for p in wave]))
                print(
                    f"lists of {chunk}: store CPU {(_cpu_s(pid) - cpu) / len(probe) * 1000:.2f} "
                    f"ms per record, {time.monotonic() - wall:.1f} s, "
                    f"{found / len(probe):.1f} profiles found per record"
                )
        finally:
            client.close()
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=300_000, help="generated items")
    parser.add_argument("--probe", type=int, default=3000, help="records looked up")
    parser.add_argument("--seed", type=int, default=2547)
    parser.add_argument("--cache-size", help="the store's WiredTiger cache (e.g. 256M)")
    parser.add_argument(
        "--chunks", type=lambda s: [int(x) for x in s.split(",")], default=[10, 20, 40, 10]
    )
    asyncio.run(main(parser.parse_args()))

"""Time the local infrastructure: jar fetch, Kafka / tansu / SecantusDB start-up, idle RSS.

Usage: ``uv run python scripts/infra_smoke.py [--cold]``

``--cold`` also fetches the Kafka jars into a fresh cache with an empty local Maven
repository (a first run on a new machine: downloads ~45 MiB from Maven Central) and
with the normal ``~/.m2`` (a new checkout on a machine that built Kafka before).
Every process it starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hotich_local.infra import kafka, mongo, procs, topics

IDLE_S = 10.0


def _mib(process: procs.ManagedProcess) -> str:
    rss = process.rss_bytes()
    return "gone" if rss is None else f"{rss / 2**20:.0f} MiB"


@contextmanager
def _maven_repo(path: Path | None) -> Iterator[None]:
    saved = os.environ.get("MAVEN_OPTS")
    if path is not None:
        os.environ["MAVEN_OPTS"] = f"{saved or ''} -Dmaven.repo.local={path}".strip()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MAVEN_OPTS", None)
        else:
            os.environ["MAVEN_OPTS"] = saved


def _fetch(label: str, cache: Path, maven_repo: Path | None) -> None:
    with _maven_repo(maven_repo):
        started = time.monotonic()
        libs = kafka.ensure_kafka_jars(echo=lambda _: None, cache_dir=cache)
        took = time.monotonic() - started
    jars = list(libs.iterdir())
    size = sum(p.stat().st_size for p in jars) / 2**20
    print(f"{label:34} {took:6.1f} s  ({len(jars)} jars, {size:.0f} MiB)")


async def _timed(label: str, action: Callable[[], Awaitable[object]]) -> None:
    started = time.monotonic()
    await action()
    print(f"{label:34} {time.monotonic() - started:6.1f} s")


async def _main(cold: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="hotich-smoke-"))
    running: list[procs.ManagedProcess] = []
    try:
        if cold:
            _fetch("jar fetch, empty ~/.m2", work / "cold" / "kafka", work / "m2")
            _fetch("jar fetch, warm ~/.m2", work / "warm" / "kafka", None)
        started = time.monotonic()
        kafka.ensure_kafka_jars(echo=print)
        print(f"{'jar check, cached':34} {time.monotonic() - started:6.3f} s")

        server = kafka.KafkaServer(
            data_dir=work / "kafka", port=procs.free_port(), controller_port=procs.free_port()
        )
        running.append(server)
        started = time.monotonic()
        server.format_storage()
        print(
            f"{'kafka ' + server.version + ' storage format':34} {time.monotonic() - started:6.1f} s"
        )

        async def start_kafka() -> None:
            server.start()
            await server.wait_ready(180)

        await _timed("kafka start -> ready", start_kafka)
        await _timed("create the topics", lambda: topics.ensure_topics(server.bootstrap))

        store = mongo.SecantusServer(work / "secantus", port=procs.free_port())
        running.append(store)

        async def start_store() -> None:
            store.start()
            await store.wait_ready(60)

        await _timed("secantusdb start -> ready", start_store)

        tansu = kafka.TansuServer(port=procs.free_port())
        running.append(tansu)

        async def start_tansu() -> None:
            tansu.start(work / "tansu.log")
            await tansu.wait_ready(60)

        await _timed("tansu start -> ready", start_tansu)

        await asyncio.sleep(IDLE_S)
        print(
            f"idle RSS after {IDLE_S:.0f} s: kafka {_mib(server)}, secantusdb {_mib(store)}, "
            f"tansu {_mib(tansu)}"
        )

        started = time.monotonic()
        server.stop()
        print(f"{'kafka SIGTERM -> exited':34} {time.monotonic() - started:6.1f} s")
        await _timed("kafka restart -> ready", start_kafka)
    finally:
        for process in running:
            process.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold", action="store_true", help="also time cold jar fetches")
    asyncio.run(_main(parser.parse_args().cold))


if __name__ == "__main__":
    main()

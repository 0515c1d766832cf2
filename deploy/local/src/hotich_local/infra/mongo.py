"""SecantusDB (MongoDB wire protocol over WiredTiger) as the local stack's store.

It is GPL-2.0: it runs as a separate process only and no shipped code imports it.
Production points ``HOTICH_MONGODB_URL`` at a real MongoDB replica set instead.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pymongo import MongoClient

from hotich_local.infra import procs

IN_MEMORY = ":memory:"
"""``--storage-path`` value for a throwaway store (a temp dir removed on shutdown)."""


def secantus_executable() -> str:
    """``secantusd-py`` from the same environment as this Python.

    Raises:
        RuntimeError: The ``secantusdb`` package is not installed.
    """
    beside = Path(sys.executable).with_name("secantusd-py")
    if beside.exists():
        return str(beside)
    found = shutil.which("secantusd-py")
    if found is None:
        raise RuntimeError("secantusd-py is not installed (pip package secantusdb)")
    return found


def _ping(url: str) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=1000)
    try:
        client.admin.command("ping")
        return True
    finally:
        client.close()


async def store_ready(url: str) -> bool:
    """Return True when the store answers a ping.

    A synchronous client in a thread: its monitors close with it, where the async
    client's can outlive a short-lived event loop (readiness polls use ``asyncio.run``).
    """
    return await asyncio.to_thread(_ping, url)


def local_url(port: int) -> str:
    """The connection string: one node, no replica-set discovery, no retryable writes.

    SecantusDB keeps the reply of each retryable write (up to 10,000) and, on every
    write past that many, sorts them all to drop the oldest: after 10,000 writes its
    throughput falls from ~2,900 to ~300 operations/s (``bench/store_contention.py``).
    The services do not need them: their writes are made to be repeated (a crash
    repeats them anyway), and a write that fails on a dropped connection fails the
    batch or the request, which the consumer or the client retries. A real MongoDB
    keeps the driver's default (on), where they cover a primary's failover.
    """
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


@dataclass
class SecantusServer(procs.ManagedProcess):
    """One SecantusDB node: a single-node replica set (transactions, change streams) by default.

    Args:
        data_dir: WiredTiger home, reopened intact on restart; None keeps the data in a
            throwaway temp dir (``--storage-path :memory:``).
        port: Loopback port.
        cache_size: WiredTiger cache cap such as ``"256M"`` (server default: 1G).
        standalone: Run without the replica-set advertisement (``--standalone``): no
            transactions and no change streams, and no oplog written either, which
            takes about 30 % of the store's CPU off every update (measured: 0.68 against
            0.48 ms per compare-and-set update of a 2 KB document). For the stores whose
            services need neither.
    """

    data_dir: Path | None
    port: int = 27017
    cache_size: str | None = None
    standalone: bool = False
    kind: str = "secantusdb"
    pid: int | None = field(default=None, init=False)
    log_path: Path | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """The connection string (:func:`local_url`)."""
        return local_url(self.port)

    def command(self) -> list[str]:
        """The server's command line."""
        storage = str(self.data_dir) if self.data_dir is not None else IN_MEMORY
        cmd = [
            sys.executable,
            "-m",
            "hotich_local.infra.store_launcher",
            secantus_executable(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            storage,
            "--log-level",
            "WARNING",
        ]
        if self.cache_size is not None:
            cmd += ["--cache-size", self.cache_size]
        if self.standalone:
            cmd.append("--standalone")
        return cmd

    def start(self, log_path: Path | None = None) -> int:
        """Start the server; return its pid. Data survives restarts unless ``data_dir`` is None.

        Args:
            log_path: Its log (default ``<data_dir>/../secantus.log``, or ``./secantus.log``
                for an in-memory store).
        """
        if self.running and self.pid is not None:
            return self.pid
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        default_log = (
            self.data_dir.parent / "secantus.log" if self.data_dir else Path("secantus.log")
        )
        self.log_path = log_path or default_log
        # cwd: the server reads ./secantusd.toml if there is one; keep it out of the repo's.
        self.pid = procs.start(
            self.command(),
            log_path=self.log_path,
            cwd=self.log_path.parent,
            pid_file=self.data_dir.parent / "secantus.pid" if self.data_dir else None,
        )
        return self.pid

    async def wait_ready(self, within: float = 60.0) -> None:
        """Wait until the store answers a ping.

        Raises:
            TimeoutError: Not ready in time, or the process exited (the log tail is attached).
        """
        await self.wait_for(lambda: store_ready(self.url), "secantusdb", within)

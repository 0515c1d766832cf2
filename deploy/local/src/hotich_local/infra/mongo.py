"""SecantusDB (MongoDB wire protocol over WiredTiger) as the local stack's store.

It is GPL-2.0: it runs as a separate process only and no shipped code imports it.
Production points ``HOTICH_MONGODB_URL`` at a real MongoDB replica set instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pymongo import MongoClient

from hotich_local.infra import procs

IN_MEMORY = ":memory:"
"""``--storage-path`` value for a throwaway store (a temp dir removed on shutdown)."""


PYTHON_SERVER = "secantusd-py"
RUST_SERVER = "secantusd-rs"
RUST_SERVER_CRATE = ("secantus-mdb", "0.5.3-beta.196", "1.98")
"""The Rust server's crate, version and the rustc it needs (``make store-rs`` builds it)."""


CACHE_SIZE_ENV = "HOTICH_STORE_CACHE_SIZE"


def default_cache_size(stores: int = 1) -> str:
    """A local store's WiredTiger cache cap: ``HOTICH_STORE_CACHE_SIZE``, else MongoDB's rule.

    MongoDB's default is half of (RAM - 1 GiB), at least 256 MiB; with ``stores`` servers
    on one machine each gets its share of that. The cap is not reserved: WiredTiger's
    cache grows to it as the data is read or written. A cache smaller than what the
    services touch makes every write evict and read pages back: with a 64 MiB cache,
    storing 246,105 match profiles took 487 s against 33 s with 2 GiB
    (``bench/dedup_lookups.py --total 300000 --cache-size ...``). The whole backlog's
    stores hold several GiB.
    """
    chosen = os.environ.get(CACHE_SIZE_ENV)
    if chosen:
        return chosen
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # not on this platform: the servers' own default
        return "1G"
    mib = max(256, (ram - 2**30) // 2 // max(1, stores) // 2**20)
    return f"{mib}M"


def rust_server_home() -> Path:
    """Where ``make store-rs`` installs ``secantusd-rs`` (``$HOTICH_CACHE_DIR/secantus-rs``)."""
    from hotich_local.infra.kafka import cache_root

    return cache_root() / f"secantus-rs-{RUST_SERVER_CRATE[1]}"


def secantus_executable(choice: str | None = None) -> str:
    """The store server to run: ``HOTICH_STORE_SERVER``, else ``secantusd-py``.

    Args:
        choice: ``secantusd-py`` (the pip package, beside this Python), ``secantusd-rs``
            (the Rust build of the same server: ``make store-rs``, or on ``PATH``), or a
            path to either; None reads ``HOTICH_STORE_SERVER``.

    Raises:
        RuntimeError: The chosen server is not installed.
    """
    choice = choice or os.environ.get("HOTICH_STORE_SERVER") or PYTHON_SERVER
    if os.sep in choice:
        if not Path(choice).is_file():
            raise RuntimeError(f"HOTICH_STORE_SERVER={choice}: no such file")
        return choice
    if choice == PYTHON_SERVER:
        beside = Path(sys.executable).with_name(PYTHON_SERVER)
        if beside.exists():
            return str(beside)
    elif choice == RUST_SERVER:
        built = rust_server_home() / "bin" / RUST_SERVER
        if built.exists():
            return str(built)
    else:
        raise RuntimeError(
            f"HOTICH_STORE_SERVER={choice}: expected {PYTHON_SERVER}, {RUST_SERVER} or a path"
        )
    found = shutil.which(choice)
    if found is None:
        hint = "make store-rs" if choice == RUST_SERVER else "pip package secantusdb"
        raise RuntimeError(f"{choice} is not installed ({hint})")
    return found


def is_rust_server(executable: str) -> bool:
    """True for the Rust server, which runs as it is (no Python launcher)."""
    return Path(executable).name.startswith(RUST_SERVER)


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
        cache_size: WiredTiger cache cap such as ``"256M"``; None: :func:`default_cache_size`
            for one store.
        standalone: Run without the replica-set advertisement (``--standalone``): no
            transactions and no change streams, and no oplog written either, which
            takes about 30 % of the store's CPU off every update (measured: 0.68 against
            0.48 ms per compare-and-set update of a 2 KB document). For the stores whose
            services need neither.
        executable: The server (:func:`secantus_executable`); None reads
            ``HOTICH_STORE_SERVER`` (default ``secantusd-py``).
    """

    data_dir: Path | None
    port: int = 27017
    cache_size: str | None = None
    standalone: bool = False
    executable: str | None = None
    kind: str = "secantusdb"
    pid: int | None = field(default=None, init=False)
    log_path: Path | None = field(default=None, init=False)
    _temp_dir: Path | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.executable = secantus_executable(self.executable)
        if is_rust_server(self.executable):
            self.kind = "secantusdb-rs"

    @property
    def url(self) -> str:
        """The connection string (:func:`local_url`)."""
        return local_url(self.port)

    @property
    def rust(self) -> bool:
        """True when this is the Rust server (``secantusd-rs``)."""
        return self.kind == "secantusdb-rs"

    def command(self) -> list[str]:
        """The server's command line.

        The Python server runs under :mod:`hotich_local.infra.store_launcher` (its garbage
        collector tuned); the Rust one as it is. The WiredTiger cache is ``cache_size``,
        else :func:`default_cache_size` (the servers' own defaults: 1G and 4G).
        """
        assert self.executable is not None
        if self.data_dir is not None:
            storage = str(self.data_dir)
        elif self.rust:  # no ``:memory:`` there: a temp dir, removed on stop
            if self._temp_dir is None:
                self._temp_dir = Path(tempfile.mkdtemp(prefix="secantus-rs-"))
            storage = str(self._temp_dir)
        else:
            storage = IN_MEMORY
        launcher = [] if self.rust else [sys.executable, "-m", "hotich_local.infra.store_launcher"]
        cmd = [
            *launcher,
            self.executable,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            storage,
            "--log-level",
            "WARNING",
        ]
        cmd += ["--cache-size", self.cache_size or default_cache_size()]
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

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server; a throwaway store's temp dir goes with it."""
        super().stop(timeout)
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    async def wait_ready(self, within: float = 60.0) -> None:
        """Wait until the store answers a ping.

        Raises:
            TimeoutError: Not ready in time, or the process exited (the log tail is attached).
        """
        await self.wait_for(lambda: store_ready(self.url), "secantusdb", within)


def build_rust_server(echo: Callable[[str], None] = print) -> Path:
    """Build ``secantusd-rs`` into :func:`rust_server_home` (about 4 minutes on 2 cores).

    Needs ``cargo``, CMake and a C compiler; the crate needs rustc 1.98, which ``rustup``
    installs (from its own mirror) when the default toolchain is older.

    Raises:
        RuntimeError: cargo is missing or the build failed (its output is attached).
    """
    crate, version, rustc = RUST_SERVER_CRATE
    home = rust_server_home()
    binary = home / "bin" / RUST_SERVER
    if binary.exists():
        echo(f"{binary} is already built")
        return binary
    if shutil.which("cargo") is None:
        raise RuntimeError("cargo is missing: install Rust (rustup) to build secantusd-rs")
    toolchain: list[str] = []
    if shutil.which("rustup") is not None:
        echo(f"rustup: installing the {rustc} toolchain if missing")
        _run(["rustup", "toolchain", "install", rustc, "--profile", "minimal"])
        toolchain = [f"+{rustc}"]
    echo(f"cargo: building {crate} {version} into {home} (a few minutes)")
    _run(["cargo", *toolchain, "install", crate, "--version", version, "--root", str(home)])
    return binary


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{tail}")

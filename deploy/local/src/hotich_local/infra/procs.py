"""A small process manager for the local stack: detached processes with pid files and logs.

Every process is started in a session of its own, so it outlives the ``hotich`` command
that started it and so :func:`stop` can signal its whole process group (a launcher
script and the JVM or Python it execs end together).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

_children: dict[int, subprocess.Popen[bytes]] = {}
"""Processes this interpreter started, kept so they are reaped (not garbage-collected running:
``Popen.__del__`` would raise a ResourceWarning, an error under ``filterwarnings = error``)."""


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LISTEN_PORTS_FROM = 10000
_handed_out: set[int] = set()
"""Ports :func:`free_port` returned in this process: none is handed out twice, even when the
first taker has not bound it yet."""


def ephemeral_ports() -> range:
    """Return the range the kernel picks outgoing connections' local ports from.

    Linux's default when ``/proc`` cannot be read.
    """
    try:
        low, high = (int(part) for part in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now, outside the ephemeral range.

    A port the kernel picked with ``bind(0)`` comes from the ephemeral range, and any outgoing
    connection (a Kafka client's, say) may take it between this call and the server's own bind,
    which then fails with "address already in use". Ports below that range are never given to
    outgoing connections, so only another listener can race for them.
    """
    ephemeral = ephemeral_ports()
    candidates = [
        port
        for port in range(_LISTEN_PORTS_FROM, 65536)
        if port not in ephemeral and port not in _handed_out
    ]
    for port in random.sample(candidates, k=min(200, len(candidates))):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Return True when something accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start(
    cmd: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    pid_file: Path | None = None,
) -> int:
    """Start ``cmd`` detached: its own session, stdin closed, stdout and stderr to ``log_path``.

    Args:
        cmd: The program and its arguments.
        log_path: Appended to; its directory is created.
        env: Variables added to (overriding) this process's environment.
        cwd: Working directory of the process.
        pid_file: Where to write the pid, if anywhere.

    Returns:
        The pid, which is also the process group id.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - commands are built by this package
            list(cmd),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    _children[process.pid] = process
    if pid_file is not None:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{process.pid}\n")
    return process.pid


def read_pid(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` if the file exists and that process still runs."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if is_running(pid) else None


def is_running(pid: int) -> bool:
    """Return True while ``pid`` is alive (a zombie counts as gone, and is reaped)."""
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Return True while any process of the process group ``pgid`` is alive.

    Zombies do not count: an orphan's zombie stays until PID 1 reaps it, and some
    container inits (these machines' among them) never do.
    """
    is_running(pgid)  # reap the leader if it is our child
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After "(comm)": state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def stop(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group of ``pid``; SIGKILL what is left after ``timeout`` seconds.

    Returns once the group is gone (or, for a process that is not a group leader, the
    process itself). Safe to call for a pid that has already exited.
    """
    group = True
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError:  # not a group leader of ours: signal the process alone
            group = False
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(pid, group):
            time.sleep(0.05)
        if not _alive(pid, group):
            break
    _reap(pid)


def _alive(pid: int, group: bool) -> bool:
    return group_alive(pid) if group else is_running(pid)


def _reap(pid: int) -> None:
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)


def rss_bytes(pid: int) -> int | None:
    """Resident memory of ``pid`` in bytes, from /proc (None if gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


async def wait_until(
    predicate: Callable[[], Awaitable[bool]],
    *,
    within: float,
    what: str,
    interval: float = 0.25,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll ``predicate`` until True; fail fast if ``alive`` says the process died.

    Args:
        predicate: Async check; an exception counts as "not yet".
        within: Seconds to wait at most.
        what: Named in the error.
        interval: Seconds between checks.
        alive: Returns False once the awaited process has exited.

    Raises:
        TimeoutError: ``what`` was not ready within ``within`` seconds, or died.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise TimeoutError(f"{what} exited before it was ready")
        try:
            if await predicate():
                return
        except Exception:  # noqa: BLE001, S110 - not ready yet, whatever the reason
            pass
        await asyncio.sleep(interval)
    raise TimeoutError(f"{what} not ready after {within:.0f}s")


async def wait_for_port(
    port: int,
    host: str = "127.0.0.1",
    *,
    within: float,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Wait until something accepts TCP connections on ``host:port``.

    Raises:
        TimeoutError: Nothing listened within ``within`` seconds, or ``alive`` turned False.
    """

    async def accepting() -> bool:
        return await asyncio.to_thread(port_open, port, host)

    await wait_until(accepting, within=within, what=f"{host}:{port}", interval=0.1, alive=alive)


class ManagedProcess:
    """Pid bookkeeping for a server started with :func:`start` (brokers, the store)."""

    pid: int | None
    log_path: Path | None

    @property
    def running(self) -> bool:
        """True while the process this object started runs."""
        return self.pid is not None and is_running(self.pid)

    def rss_bytes(self) -> int | None:
        """Resident memory of the process, None when it does not run."""
        return rss_bytes(self.pid) if self.pid is not None else None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the process group, SIGKILL after ``timeout`` s; no-op when not running."""
        if self.pid is not None:
            stop(self.pid, timeout)
            self.pid = None

    def log_tail(self, lines: int = 40) -> str:
        """The end of the process log, for error messages."""
        if self.log_path is None:
            return ""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_for(
        self, ready: Callable[[], Awaitable[bool]], what: str, within: float
    ) -> None:
        """Wait until ``ready`` answers True, failing fast if the process exits.

        Raises:
            RuntimeError: The process was not started.
            TimeoutError: Not ready in time, or exited (the log tail is attached).
        """
        pid = self.pid
        if pid is None:
            raise RuntimeError(f"{what} was not started")
        try:
            await wait_until(
                ready,
                within=within,
                what=what,
                alive=lambda: is_running(pid),
            )
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; log {self.log_path}:\n{self.log_tail()}") from exc

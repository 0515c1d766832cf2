"""Where a service's memory goes: an opt-in ``tracemalloc`` profile written while it runs.

Set a service's ``TRACEMALLOC_FILE`` setting to a path (``HOTICH_REPORTING_TRACEMALLOC_FILE``
for reporting: each service its own, so one of a stack's can be traced) and the service
traces its Python allocations from start-up; a background thread looks every :data:`INTERVAL_S` seconds and, whenever
the traced memory reaches a new high (by more than 2 %), writes the largest allocation
sites of that moment to the file (JSON, replaced each time). So the file always holds the
profile of the peak, which is what a memory limit is about. ``TRACEMALLOC_FRAMES``
(default 1) groups by that many frames of each allocation's traceback.

Tracing costs CPU (a service runs roughly half as fast under it) and memory of its own
(not counted in the profile): for diagnosis, never in production. What it sees is what
Python allocated; the process's RSS adds the interpreter, extension modules' own memory
and the allocator's free lists, so compare the profile's total with the RSS at the same
moment.
"""

from __future__ import annotations

import json
import resource
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

__all__ = ["INTERVAL_S", "MemoryTrace", "profile", "trace_memory"]

INTERVAL_S = 2.0
TOP = 40


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            lines = status.readlines()
    except OSError:
        return None
    return next((int(x.split()[1]) / 1024 for x in lines if x.startswith("VmRSS:")), None)


def profile(snapshot: tracemalloc.Snapshot, frames: int, top: int = TOP) -> dict[str, Any]:
    """The ``top`` largest allocation sites of a snapshot, and the traced total."""
    stats = snapshot.statistics("traceback" if frames > 1 else "lineno")
    total = sum(s.size for s in stats)
    return {
        "traced_mb": round(total / 2**20, 2),
        "sites": [
            {
                "mb": round(s.size / 2**20, 3),
                "blocks": s.count,
                "where": [f"{f.filename}:{f.lineno}" for f in s.traceback],
            }
            for s in stats[:top]
        ],
    }


def _write(path: Path, frames: int, started: float) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__),)
    )
    report = {
        "at_s": round(time.monotonic() - started, 1),
        "rss_mb": _rss_mb(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **profile(snapshot, frames),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
    tmp.replace(path)


class MemoryTrace:
    """Tracing under way; :meth:`stop` ends it (a service never does: it dies with it)."""

    def __init__(self, target: str, frames: int) -> None:
        self.path = Path(target)
        self.frames = max(1, frames)
        self._stop = threading.Event()
        tracemalloc.start(self.frames)
        self._thread = threading.Thread(target=self._watch, name="tracemalloc", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        best = 0
        started = time.monotonic()
        while not self._stop.wait(INTERVAL_S):
            current, _ = tracemalloc.get_traced_memory()
            if current > best * 1.02:
                best = current
                _write(self.path, self.frames, started)

    def stop(self) -> None:
        """Stop the watcher and tracing."""
        self._stop.set()
        self._thread.join()
        tracemalloc.stop()


def trace_memory(target: str, frames: int = 1) -> MemoryTrace:
    """Trace allocations and write the profile of each new high to ``target``."""
    return MemoryTrace(target, frames)

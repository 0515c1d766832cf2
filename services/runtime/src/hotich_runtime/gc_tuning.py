"""Python's garbage collector tuned for record-at-a-time services.

Imports nothing heavy: the local store's launcher (``hotich_local.infra.store_launcher``)
uses it inside the store process too.
"""

from __future__ import annotations

import gc
import os

DEFAULT_THRESHOLD = 20_000


def threshold_from_env() -> int:
    """``HOTICH_GC_THRESHOLD`` (default 20,000; 0 keeps Python's settings)."""
    return int(os.environ.get("HOTICH_GC_THRESHOLD", str(DEFAULT_THRESHOLD)))


def tune_gc(threshold: int) -> None:
    """Collect garbage less often, and never walk what start-up left alive again.

    With Python's defaults (a young collection every 700 container allocations, a full one
    every 100 of those, walking every live object) validating a record took a third more
    time and dumping it three times as long: the modules and schemas loaded at start-up
    were walked again and again. ``gc.freeze`` moves them out of the collector's sight
    before the server starts; the young generation then holds ``threshold`` allocations
    before it is walked. Garbage without cycles is freed at once by reference counting
    either way; only cycles wait a little longer.
    """
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(threshold, middle, old)

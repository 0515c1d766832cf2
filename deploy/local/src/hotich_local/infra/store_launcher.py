"""Run the embedded store (``secantusd-py``) with its garbage collector tuned.

``python -m hotich_local.infra.store_launcher /path/to/secantusd-py --port ...``: the
server's modules are loaded, frozen out of the collector's sight (``gc.freeze``) and the
young generation raised to ``HOTICH_GC_THRESHOLD`` allocations (default 20,000; 0 keeps
Python's settings), as every service does (``hotich_runtime.app.tune_gc``). The server
is a Python process decoding and encoding BSON for every document: with Python's
defaults it walks its own start-up objects again every 70,000 allocations or so. The
executable's path stays on the command line, so the process is still found by its name.
"""

from __future__ import annotations

import gc
import os
import sys


def main() -> int:
    """Tune the collector, then hand the rest of the command line to the server."""
    sys.argv = sys.argv[1:]
    from secantus.cli import main as serve

    threshold = int(os.environ.get("HOTICH_GC_THRESHOLD", "20000"))
    if threshold > 0:
        gc.collect()
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(threshold, middle, old)
    return int(serve() or 0)


if __name__ == "__main__":
    sys.exit(main())

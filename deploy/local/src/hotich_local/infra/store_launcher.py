"""Run the embedded store (``secantusd-py``) with its garbage collector tuned.

``python -m hotich_local.infra.store_launcher /path/to/secantusd-py --port ...``: the
server's modules are loaded, frozen out of the collector's sight (``gc.freeze``) and the
young generation raised to ``HOTICH_GC_THRESHOLD`` allocations (default 20,000; 0 keeps
Python's settings), as every service does (``hotich_runtime.gc_tuning``). The server
is a Python process decoding and encoding BSON for every document: with Python's
defaults it walks its own start-up objects again every 70,000 allocations or so. The
executable's path stays on the command line, so the process is still found by its name.
"""

from __future__ import annotations

import sys

from hotich_runtime.gc_tuning import threshold_from_env, tune_gc


def main() -> int:
    """Tune the collector, then hand the rest of the command line to the server."""
    sys.argv = sys.argv[1:]
    from secantus.cli import main as serve

    tune_gc(threshold_from_env())
    return int(serve() or 0)


if __name__ == "__main__":
    sys.exit(main())

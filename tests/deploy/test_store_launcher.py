"""The local store's launcher: the collector is tuned before the server takes over."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest
import secantus.cli

from hotich_local.infra import store_launcher


@pytest.fixture
def collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("collector")
def test_launcher_tunes_the_collector_then_runs_the_server_with_its_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, object] = {}

    def server() -> int:  # in place of the daemon, which would not return
        seen["argv"] = list(sys.argv)
        seen["threshold"] = gc.get_threshold()[0]
        seen["frozen"] = gc.get_freeze_count()
        return 0

    monkeypatch.setattr(secantus.cli, "main", server)
    monkeypatch.delenv("HOTICH_GC_THRESHOLD", raising=False)
    monkeypatch.setattr(sys, "argv", ["store_launcher", "/venv/bin/secantusd-py", "--port", "1"])
    assert store_launcher.main() == 0
    assert seen["argv"] == ["/venv/bin/secantusd-py", "--port", "1"]
    assert seen["threshold"] == 20_000
    assert isinstance(seen["frozen"], int)
    assert seen["frozen"] > 0

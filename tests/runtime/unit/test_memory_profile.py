"""The opt-in allocation profile: it names the site holding the memory at the high."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from hotich_runtime import memory_profile
from hotich_runtime.settings import ServiceSettings


def hold_a_lot() -> list[bytes]:
    return [bytes(1000) for _ in range(20_000)]  # ~20 MB in 20,000 blocks


def _top_blocks(report: dict[str, Any]) -> int:
    sites = report.get("sites") or [{"blocks": 0}]
    return int(sites[0]["blocks"])


def test_the_profile_at_the_high_names_what_holds_the_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_profile, "INTERVAL_S", 0.05)
    target = tmp_path / "profile.json"
    trace = memory_profile.trace_memory(str(target))
    try:
        held = hold_a_lot()
        deadline = time.monotonic() + 10
        # The watcher may write a high while the list is still being built (a busy
        # machine switches threads mid-way); it writes again at the next tick once the
        # whole list is held, which is the high this waits for.
        while time.monotonic() < deadline:
            if target.exists() and _top_blocks(json.loads(target.read_text())) >= 20_000:
                break
            time.sleep(0.05)
        del held
        time.sleep(0.3)  # lower now: the file keeps the high
    finally:
        trace.stop()
    report = json.loads(target.read_text())
    assert report["traced_mb"] > 15
    top = report["sites"][0]
    line = hold_a_lot.__code__.co_firstlineno + 1
    assert top["where"][0] == f"{__file__}:{line}"
    assert top["blocks"] >= 20_000
    assert top["mb"] > 15
    assert report["rss_mb"] > 0


def test_each_service_reads_its_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    class Reporting(ServiceSettings):
        model_config = ServiceSettings.model_config | {"env_prefix": "HOTICH_REPORTING_"}

    monkeypatch.setenv("HOTICH_REPORTING_TRACEMALLOC_FILE", "/tmp/reporting.json")
    assert Reporting().tracemalloc_file == "/tmp/reporting.json"
    assert ServiceSettings().tracemalloc_file is None

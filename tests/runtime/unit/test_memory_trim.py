"""Freed memory handed back: the resident size falls after a batch is freed and trimmed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
import uvicorn
from pydantic_settings import SettingsConfigDict

from hotich_runtime import app, memory_trim
from hotich_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HOTICH_SOME_SERVICE_")


# A batch of 200 MB in 1 KB blocks, freed except one block in 50 (so the heap cannot just
# shrink from its top), then the resident size before and after the service's trimming.
SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from hotich_runtime.memory_trim import start_trimming

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    interval = float(sys.argv[1])
    batch = [bytes(1000) for _ in range(200_000)]
    kept = batch[::50]
    del batch
    freed = rss_mb()
    start_trimming(interval)
    time.sleep(1.0)
    print(json.dumps({"freed": freed, "after": rss_mb(), "kept": len(kept)}))
    """
)


def rss_around_trimming(interval_s: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(interval_s)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_trimming_hands_a_freed_batch_back_to_the_system() -> None:
    untrimmed = rss_around_trimming(0)  # 0: no trimming
    trimmed = rss_around_trimming(0.1)
    # Freed but not trimmed, the batch stays resident.
    assert untrimmed["after"] > untrimmed["freed"] - 20
    assert untrimmed["freed"] > 150
    # Trimmed, most of it goes back.
    assert trimmed["after"] < trimmed["freed"] - 100


def test_the_trimming_thread_runs_in_the_background_until_stopped() -> None:
    trimming = memory_trim.start_trimming(0.01)
    assert trimming is not None
    time.sleep(0.05)
    assert trimming.thread.daemon
    assert trimming.thread.is_alive()
    trimming.stop()
    assert not trimming.thread.is_alive()


def test_no_trimming_when_switched_off() -> None:
    assert memory_trim.start_trimming(0) is None


def test_services_trim_every_five_seconds_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().malloc_trim_interval_s == 5.0
    monkeypatch.setenv("HOTICH_SOME_SERVICE_MALLOC_TRIM_INTERVAL_S", "0")
    assert Settings().malloc_trim_interval_s == 0


def test_a_service_process_starts_trimming_before_it_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``run`` (every service's ``main``) starts the thread with the service's interval."""
    calls: list[str] = []
    monkeypatch.setattr(app, "tune_gc", lambda threshold: calls.append("gc"))
    monkeypatch.setattr(app, "start_trimming", lambda s: calls.append(f"trim every {s}s"))
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append("serve"))
    monkeypatch.setenv("HOTICH_SOME_SERVICE_MALLOC_TRIM_INTERVAL_S", "2.5")
    app.run("some_service:create_app", Settings())
    assert calls == ["gc", "trim every 2.5s", "serve"]

"""The shared app factory's settings that need no broker or store."""

from __future__ import annotations

import os

import pytest

from hotich_runtime.app import telemetry_config


def test_fastapis_own_telemetry_is_off_unless_opentelemetry_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [k for k in os.environ if k.startswith(("OTEL_", "FASTAPI_OTEL_"))]:
        monkeypatch.delenv(name)
    assert telemetry_config() == {"tracing": False, "metrics": False, "logs": False}
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert telemetry_config() is None  # FastAPI's defaults: it looks for a provider

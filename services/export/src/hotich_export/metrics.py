"""Prometheus metrics of the export service (on ``/metrics`` with the runtime's)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "hotich_export_deliveries_total",
    "Record versions settled, by outcome: exported, failed, parked, waiting, superseded.",
    ["outcome"],
)
NATIONAL_CALLS = Counter(
    "hotich_export_national_calls_total",
    "Calls to the national database by result: ok, rejected, unavailable, throttled.",
    ["result"],
)
NATIONAL_SECONDS = Histogram(
    "hotich_export_national_seconds",
    "Duration of national database calls.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BREAKER_OPEN = Gauge(
    "hotich_export_breaker_open", "1 while the circuit breaker is open or half-open."
)
BREAKER_OPENED = Counter("hotich_export_breaker_opened_total", "Times the breaker opened.")
BATCHES_PAUSED = Counter(
    "hotich_export_batches_paused_total",
    "Batches given back to Kafka uncommitted because the breaker stayed open.",
)

"""Prometheus metrics every service exposes on ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "hotich_events_consumed_total", "Events decoded from a topic.", ["topic", "group"]
)
EVENTS_PUBLISHED = Counter(
    "hotich_events_published_total", "Events acknowledged by Kafka.", ["topic"]
)
DEAD_LETTERS = Counter(
    "hotich_dead_letters_total", "Messages set aside to a DLQ.", ["topic", "group", "error_type"]
)
HANDLER_RETRIES = Counter(
    "hotich_handler_retries_total",
    "Batch handler attempts that failed and were retried.",
    ["group"],
)
BATCH_SECONDS = Histogram("hotich_batch_seconds", "Time to handle one consumed batch.", ["group"])
BATCH_EVENTS = Histogram(
    "hotich_batch_events",
    "Messages in one batch a pipelined consumer handed to its handler (grows with the load).",
    ["group"],
    buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000),
)
REASONS = Counter(
    "hotich_reasons_total",
    "Reason codes carried by published outcomes (rejections, duplicates, export failures).",
    ["topic", "reason"],
)
INPUT_ERRORS = Counter(
    "hotich_input_errors_total",
    "Inputs refused at the edge (HTTP 422, invalid batch items), by error code.",
    ["service", "code"],
)
CONSUMER_LAG = Gauge(
    "hotich_consumer_lag",
    "Messages between this member's position and the partition's end, after its last batch.",
    ["topic", "partition", "group"],
)
COALESCED = Histogram(
    "hotich_coalesced_batch_size",
    "Calls flushed together by a group commit (intake's concurrent POSTs, account checks...).",
    ["name"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
CACHE_LOOKUPS = Counter(
    "hotich_cache_lookups_total",
    "Lookups in an in-process cache (reporting's record states...), by result (hit, miss).",
    ["cache", "result"],
)

"""Reporting settings (env prefix ``HOTICH_REPORTING_``)."""

from __future__ import annotations

import os
from datetime import date

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hotich_runtime.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Settings of the reporting service."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_REPORTING_")

    mongodb_database: str = "hotich_reporting"
    http_port: int = 8001
    group_id: str = "hotich-reporting"
    consumer_max_records: int = Field(
        default=20000,
        ge=1,
        description="Most events in one batch (the four topics together), and so in one "
        "transaction. A batch is whatever arrived while the last one was written, up to "
        "this: the events of one record read together are written once. Memory grows "
        "with it: two batches are held (the one written and the one read ahead), and a "
        "batch of dedup's and export's events of records entered long before is one "
        "record state each (~2.5 KB). Draining 150,000 records' events alone on "
        "SecantusDB (bench/reporting_bench.py, MALLOC_ARENA_MAX=2, 2026-12-08, two runs "
        "each): 20,000 made 2,691 and 1,575 records/s with peak RSS 156.7 and 170.6 MB, "
        "30,000 2,001 and 1,947 with 176.1 and 180.2, 15,000 1,301 and 158.2 (one run): "
        "single runs vary more than the settings do in speed. Beside the whole pipeline "
        "over the whole backlog, 30,000 peaked at 183-196 MB, its last step when ingest "
        "ended and the batches became dedup's and export's events. Earlier, with the "
        "Kafka client's 1 MiB fetches: 5,000 961 records/s and 330 MB, 100,000 2,246 "
        "and 838 MB. Raise it to catch up a backlog where memory allows; beside the other "
        "stages on one store, long transactions keep old versions alive and slow them.",
    )
    consumer_align_ms: int = Field(
        default=1000,
        ge=0,
        description="Read the lifecycle topics' backlog in step by message time, no "
        "partition more than this many milliseconds ahead of the oldest one behind, so "
        "that the events of one record are folded together (0: off).",
    )
    jwt_secret: str = Field(
        default_factory=lambda: os.environ.get("HOTICH_JWT_SECRET", "hotich-dev-secret-change-me"),
        description="Verifies bearer tokens issued by intake (HOTICH_JWT_SECRET).",
    )
    plan_file: str | None = Field(
        default_factory=lambda: os.environ.get("HOTICH_PLAN_FILE"),
        description="Plan YAML (path or packaged name); default HOTICH_PLAN_FILE or Tây Ninh.",
    )
    progress_interval_s: float = Field(
        default=5.0, gt=0, description="How often changed progress snapshots are published."
    )
    publish_progress: bool = Field(
        default=True, description="Publish snapshots to hotich.report.progress.v1."
    )
    due_soon_days: int = Field(
        default=14, ge=0, description="A deadline this many days ahead or fewer is 'due soon'."
    )
    today: date | None = Field(
        default=None,
        description="Fixed 'today' for deadlines and report dates (demos, tests); "
        "default: the current day in Vietnam (UTC+7).",
    )
    intake_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Intake, where the dashboard's login form gets a token.",
    )
    cached_states: int = Field(
        default=5_000,
        ge=0,
        description="Record states kept in memory (least recently used out), so that the "
        "prior state of a record this instance wrote is not read again; 0 turns it off. "
        "About 0.9 KB each by tracemalloc, more in RSS: draining 150,000 records' events, "
        "5,000 (the default since 2026-12-07) peaked 22 MB lower than 20,000 at the same "
        "speed (182.0 MB and 2,274 records/s against 203.7 and 2,278). Hits and misses "
        "are on /metrics (hotich_cache_lookups_total).",
    )
    default_aql: str = Field(default="1.0", description="AQL proposed for acceptance lots.")
    topic_prefix: str = Field(
        default="",
        description="Prefix of every topic read and written (empty in production; tests and "
        "benchmarks use one to run beside a live pipeline on the same broker).",
    )

    def topic(self, name: str) -> str:
        """The topic actually used for the contract topic ``name``."""
        return f"{self.topic_prefix}{name}"

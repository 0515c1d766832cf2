"""Export settings (env prefix ``HOTICH_EXPORT_``)."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hotich_contracts import topics
from hotich_runtime.settings import ServiceSettings


class ExportSettings(ServiceSettings):
    """Settings of the export service."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_EXPORT_")

    mongodb_database: str = "hotich_export"
    http_port: int = 8013
    group_id: str = "hotich-export"
    source_topic: str = Field(
        default=topics.RECORD_DEDUPLICATED,
        description="Where accepted records are read (the contract's topic; tests and "
        "benchmarks point it elsewhere).",
    )
    exported_topic: str = Field(
        default=topics.RECORD_EXPORTED, description="Where outcomes are published."
    )
    national_url: str = Field(
        default_factory=lambda: os.environ.get("HOTICH_NATIONAL_URL", "http://127.0.0.1:8002"),
        description="Base URL of the national database (or its sandbox).",
    )
    national_api_key: str = Field(
        default_factory=lambda: os.environ.get("HOTICH_NATIONAL_API_KEY", "sandbox-key")
    )
    national_timeout_s: float = Field(
        default=10.0, gt=0, description="Per national call; a timeout counts as a failure."
    )
    concurrency: int = Field(
        default=128, ge=1, description="National calls (and connections) in flight per instance."
    )
    consumer_max_records: int = Field(
        default=1000,
        ge=1,
        description="Records per consumed batch: the batch's calls overlap, and its receipts "
        "are written in chunks of a quarter of the batch while its last calls are in flight.",
    )
    inline_attempts: int = Field(
        default=3, ge=1, description="Tries while the batch waits, before a record is parked."
    )
    inline_budget_s: float = Field(
        default=5.0, ge=0, description="Longest in-line wait (after it, the record is parked)."
    )
    backoff_initial_s: float = Field(default=0.5, gt=0, description="First scheduled-retry delay.")
    backoff_max_s: float = Field(default=60.0, gt=0, description="Longest scheduled-retry delay.")
    breaker_window: int = Field(default=40, ge=1, description="Calls the failure ratio is over.")
    breaker_min_calls: int = Field(default=20, ge=1, description="Calls before it may open.")
    breaker_failure_ratio: float = Field(
        default=0.6, gt=0, le=1, description="Failure share that opens the breaker."
    )
    breaker_open_s: float = Field(default=2.0, gt=0, description="First open period.")
    breaker_max_open_s: float = Field(
        default=30.0, gt=0, description="Open periods double up to this after failed probes."
    )
    claim_lease_s: float = Field(
        default=60.0,
        gt=0,
        description="A parked record claimed for a retry is not claimed again for this long "
        "(if its claimer died, another instance takes it after that). Longer than a call.",
    )
    pause_s: float = Field(
        default=20.0,
        gt=0,
        description="How long a Kafka batch waits for an open breaker before it is given "
        "back uncommitted (consumption pauses; the backlog stays in Kafka).",
    )
    retry_page: int = Field(default=256, ge=1, description="Parked records claimed at a time.")
    retry_idle_s: float = Field(
        default=1.0, gt=0, description="Pause of the retry loop when nothing is due."
    )

"""Intake settings (env prefix ``HOTICH_INTAKE_``)."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hotich_runtime.settings import ServiceSettings

DEV_SECRET = "hotich-dev-secret-change-me"


class IntakeSettings(ServiceSettings):
    """Settings of the intake service."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_INTAKE_")

    mongodb_database: str = "hotich_intake"
    http_port: int = 8000
    group_id: str = "hotich-intake-status"
    consumer_max_records: int = Field(
        default=5000,
        ge=1,
        description="Most outcome events in one batch of the status view (the three topics "
        "together): a batch is whatever arrived while the last one was written, up to this.",
    )
    consumer_align_ms: int = Field(
        default=1000,
        ge=0,
        description="Read the outcome topics' backlog in step by the time each record was "
        "entered (the events' entered_at), no partition more than this many milliseconds "
        "ahead of the oldest one behind, so that a record's events are applied together "
        "(0: off).",
    )
    consumer_align_window_s: int = Field(
        default=3600,
        ge=0,
        description="Aligned by entry time, an event counts as entered at most this long "
        "before it was published: a re-validation of records entered long ago holds the "
        "view's other topics back by at most this much.",
    )
    jwt_secret: str = Field(
        default_factory=lambda: os.environ.get("HOTICH_JWT_SECRET", DEV_SECRET),
        description="Signs bearer tokens; shared with reporting (HOTICH_JWT_SECRET).",
    )
    token_ttl_minutes: int = Field(default=480, ge=1)
    outbox_relay_after_s: float = Field(
        default=30.0, description="Age after which an unpublished record is republished."
    )
    public_base_url: str = Field(
        default="", description="Prefix for status URLs; empty = relative."
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, description="Largest JSON request (413 past it)."
    )
    max_batch: int = Field(default=1000, ge=1, description="Records per POST /v1/records/batch.")
    entry_flushes: int = Field(
        default=1,
        ge=1,
        description="Group commits of concurrent single POSTs in flight at once. Above 1, a "
        "retry landing in a second flush while the first is in flight finds its outbox entry "
        "open and republishes it (same event ids, dropped downstream, but doubled in Kafka).",
    )
    import_chunk: int = Field(default=500, ge=1, description="Lines per committed import chunk.")
    import_in_flight: int = Field(
        default=3,
        ge=1,
        description="Import chunks submitted at once while the next lines are parsed; the "
        "job's lines_committed still moves in line order.",
    )
    rate_per_s: float = Field(default=200.0, gt=0, description="Requests per second per account.")
    rate_burst: float = Field(default=400.0, ge=1, description="Requests at once per account.")

"""Export settings (env prefix ``HOTICH_EXPORT_``)."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hotich_runtime.settings import ServiceSettings


class ExportSettings(ServiceSettings):
    """Settings of the export service."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_EXPORT_")

    mongodb_database: str = "hotich_export"
    http_port: int = 8013
    group_id: str = "hotich-export"
    national_url: str = Field(
        default_factory=lambda: os.environ.get("HOTICH_NATIONAL_URL", "http://127.0.0.1:8002"),
        description="Base URL of the national database (or its sandbox).",
    )
    national_api_key: str = Field(
        default_factory=lambda: os.environ.get("HOTICH_NATIONAL_API_KEY", "sandbox-key")
    )
    national_timeout_s: float = 10.0
    concurrency: int = Field(default=32, ge=1, description="National calls in flight per instance.")
    retry_for_seconds: float = Field(
        default=30.0, description="Per record, before the batch is retried."
    )

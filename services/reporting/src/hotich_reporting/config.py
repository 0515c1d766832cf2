"""Reporting settings (env prefix ``HOTICH_REPORTING_``)."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hotich_runtime.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Settings of the reporting service."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_REPORTING_")

    mongodb_database: str = "hotich_reporting"
    http_port: int = 8001
    group_id: str = "hotich-reporting"
    jwt_secret: str = Field(
        default_factory=lambda: os.environ.get("HOTICH_JWT_SECRET", "hotich-dev-secret-change-me"),
        description="Verifies bearer tokens issued by intake (HOTICH_JWT_SECRET).",
    )

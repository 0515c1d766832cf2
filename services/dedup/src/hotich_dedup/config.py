"""Dedup settings (env prefix ``HOTICH_DEDUP_``)."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hotich_contracts import topics
from hotich_dedup.domain.scoring import DEFAULT_RULES
from hotich_runtime.settings import ServiceSettings


class DedupSettings(ServiceSettings):
    """Settings of the dedup service."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_DEDUP_")

    mongodb_database: str = "hotich_dedup"
    http_port: int = 8012
    group_id: str = "hotich-dedup"
    source_topic: str = Field(
        default=topics.RECORD_VALIDATED,
        description="Where validated records are read (the contract's topic; tests and "
        "benchmarks point it elsewhere).",
    )
    deduplicated_topic: str = Field(
        default=topics.RECORD_DEDUPLICATED,
        description="Where outcomes and review resolutions are published.",
    )
    jwt_secret: str = Field(
        default_factory=lambda: os.environ.get("HOTICH_JWT_SECRET", "hotich-dev-secret-change-me"),
        description="Verifies bearer tokens issued by intake (HOTICH_JWT_SECRET).",
    )
    match_threshold: float = Field(
        default=DEFAULT_RULES.threshold,
        description="Evidence points a pair needs to be a probable duplicate.",
    )
    review_relay_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="How often resolutions interrupted before publishing are completed.",
    )

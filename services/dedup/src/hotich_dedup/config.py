"""Dedup settings (env prefix ``HOTICH_DEDUP_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from hotich_runtime.settings import ServiceSettings


class DedupSettings(ServiceSettings):
    """Settings of the dedup service."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_DEDUP_")

    mongodb_database: str = "hotich_dedup"
    http_port: int = 8012
    group_id: str = "hotich-dedup"

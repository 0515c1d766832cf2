"""Validation settings (env prefix ``HOTICH_VALIDATION_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from hotich_contracts import topics
from hotich_runtime.settings import ServiceSettings


class ValidationSettings(ServiceSettings):
    """Settings of the validation service."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_VALIDATION_")

    mongodb_database: str = "hotich_validation"
    http_port: int = 8011
    group_id: str = "hotich-validation"
    source_topic: str = Field(
        default=topics.RECORD_ENTERED,
        description="Where entered records are read (the contract's topic; tests and "
        "benchmarks point it elsewhere). Dead letters go to ``<source_topic>.dlq``.",
    )
    validated_topic: str = Field(
        default=topics.RECORD_VALIDATED, description="Where outcomes are published."
    )
    plan_file: str | None = Field(
        default=None, description="Plan YAML; default: the Tây Ninh plan shipped in contracts."
    )
    mandatory_fields_file: str | None = Field(
        default=None,
        description="Mandatory-field table (YAML); default: HOTICH_MANDATORY_FIELDS_FILE, "
        "else the table shipped in contracts.",
    )

"""Sandbox settings (env prefix ``HOTICH_SANDBOX_``), its faults and its national rule.

Faults (``HOTICH_SANDBOX_FAULT_*``) and the rule (``HOTICH_SANDBOX_RULE_*``) are read
from the environment at start and can be replaced at run time through the admin API
(``PUT``/``PATCH /admin/faults``, ``PUT /admin/rules``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LatencyDistribution = Literal["fixed", "uniform", "normal", "exponential", "lognormal"]


class Faults(BaseModel):
    """Faults that can be switched on at start (environment) or at run time (admin API).

    They apply to the client API (``/v1/records...``) in this order: outage, latency,
    timeout, injected error, rate limit (writes only), then the request itself, then
    (writes only) a lost response.
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(
        default=0, ge=0, description="Added latency: the mean (median for lognormal), in ms."
    )
    latency_jitter_ms: float = Field(
        default=0,
        ge=0,
        description="Spread: half-width for `uniform`, standard deviation for `normal`.",
    )
    latency_distribution: LatencyDistribution = Field(
        default="uniform",
        description="fixed, uniform (mean ± jitter), normal (mean, sd = jitter), exponential "
        "(mean), lognormal (median, `latency_sigma`).",
    )
    latency_sigma: float = Field(default=0.5, ge=0, description="Shape of `lognormal`.")
    error_rate: float = Field(
        default=0, ge=0, le=1, description="Share of requests answered with an injected error."
    )
    error_statuses: list[int] = Field(
        default_factory=lambda: [500, 503], description="Statuses injected errors use, at random."
    )
    rate_limit_per_s: float = Field(
        default=0,
        ge=0,
        description="Writes per second (token bucket, burst of one second); 0 = unlimited. "
        "Past it: 429 with Retry-After.",
    )
    outage: bool = Field(default=False, description="Answer every client request 503.")
    outage_for_s: float = Field(
        default=0,
        ge=0,
        description="With `outage`: the outage ends by itself after this many seconds (0 = "
        "until switched off).",
    )
    timeout_rate: float = Field(
        default=0,
        ge=0,
        le=1,
        description="Share of requests that hang for `timeout_s`, then answer 504 (nothing "
        "written).",
    )
    timeout_s: float = Field(default=30, ge=0, description="How long a timed-out request hangs.")
    lost_response_rate: float = Field(
        default=0,
        ge=0,
        le=1,
        description="Share of writes that are done but answered 502: the reply is lost.",
    )
    reject_rate: float = Field(
        default=0,
        ge=0,
        le=1,
        description="Share of new writes refused as invalid (422), on top of the rule.",
    )


class Rules(BaseModel):
    """The national-level rule a record must pass (configurable, as rules change)."""

    model_config = ConfigDict(extra="forbid")

    required_fields: list[str] = Field(
        default_factory=lambda: ["record_type", "registration_date", "book_number", "entry_number"],
        description="Dotted paths into the record that must be present and non-empty, e.g. "
        "`page` or `details.child.full_name`.",
    )


class _EnvFaults(BaseSettings, Faults):
    model_config = SettingsConfigDict(env_prefix="HOTICH_SANDBOX_FAULT_", extra="ignore")


class _EnvRules(BaseSettings, Rules):
    model_config = SettingsConfigDict(env_prefix="HOTICH_SANDBOX_RULE_", extra="ignore")


def faults_from_env() -> Faults:
    """The faults given by ``HOTICH_SANDBOX_FAULT_*`` (none by default)."""
    return Faults.model_validate(_EnvFaults().model_dump())


def rules_from_env() -> Rules:
    """The national rule given by ``HOTICH_SANDBOX_RULE_*`` (the default rule otherwise)."""
    return Rules.model_validate(_EnvRules().model_dump())


class SandboxSettings(BaseSettings):
    """Settings of the national database sandbox."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_SANDBOX_")

    db_path: str = Field(
        default="national_sandbox.sqlite3", description="SQLite file; ':memory:' for tests."
    )
    api_key: str = Field(default="sandbox-key", description="Clients send it as `X-API-Key`.")
    client_id: str = Field(default="hotich", description="OAuth2 client-credentials client id.")
    client_secret: str = Field(
        default="sandbox-secret", description="OAuth2 client-credentials secret."
    )
    token_ttl_s: int = Field(default=3600, ge=1, description="Lifetime of issued bearer tokens.")
    admin_key: str = Field(default="sandbox-admin", description="For `/admin/*`, as `X-Admin-Key`.")
    http_host: str = "127.0.0.1"
    http_port: int = 8002

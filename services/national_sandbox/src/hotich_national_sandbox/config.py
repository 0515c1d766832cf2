"""Sandbox settings (env prefix ``HOTICH_SANDBOX_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Faults(BaseSettings):
    """Faults that can be switched on at start (environment) or at run time (admin API)."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_SANDBOX_FAULT_")

    latency_ms: float = Field(default=0, ge=0, description="Mean added latency per request.")
    latency_jitter_ms: float = Field(default=0, ge=0, description="Uniform jitter around it.")
    error_rate: float = Field(
        default=0, ge=0, le=1, description="Share of requests answered 500/503."
    )
    rate_limit_per_s: float = Field(
        default=0, ge=0, description="Creates per second; 0 = none. 429 + Retry-After past it."
    )
    outage: bool = Field(default=False, description="Answer every request 503.")
    timeout_rate: float = Field(
        default=0, ge=0, le=1, description="Share of requests that hang for `timeout_s`."
    )
    timeout_s: float = Field(default=30, ge=0)
    lost_response_rate: float = Field(
        default=0,
        ge=0,
        le=1,
        description="Share of creates done but answered 502 (the reply is lost).",
    )
    reject_rate: float = Field(
        default=0, ge=0, le=1, description="Share of creates rejected as invalid (422)."
    )


class SandboxSettings(BaseSettings):
    """Settings of the national database sandbox."""

    model_config = SettingsConfigDict(env_prefix="HOTICH_SANDBOX_")

    db_path: str = Field(
        default="national_sandbox.sqlite3", description="SQLite file; ':memory:' for tests."
    )
    api_key: str = Field(default="sandbox-key", description="Clients send it as `X-API-Key`.")
    admin_key: str = Field(default="sandbox-admin", description="For `/admin/*`, as `X-Admin-Key`.")
    http_host: str = "127.0.0.1"
    http_port: int = 8002

"""ASGI entrypoint of the reporting service."""

from __future__ import annotations

from fastapi import FastAPI

from hotich_reporting import bootstrap
from hotich_reporting.config import ReportingSettings
from hotich_reporting.entrypoints.api import router
from hotich_runtime.app import run, service_app


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    """Return the reporting app."""
    return service_app(
        name="reporting",
        settings=settings or ReportingSettings(),
        setup=bootstrap.setup,
        routers=[router],
        title="hotich reporting",
        description="Progress of the digitization plan (báo cáo tiến độ).",
    )


def main() -> None:
    """Run the service with settings from the environment."""
    run("hotich_reporting.entrypoints.app:create_app", ReportingSettings())

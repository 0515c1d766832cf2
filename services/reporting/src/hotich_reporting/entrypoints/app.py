"""ASGI entrypoint of the reporting service."""

from __future__ import annotations

from fastapi import FastAPI

from hotich_reporting import bootstrap
from hotich_reporting.config import ReportingSettings
from hotich_reporting.entrypoints import api, dashboard
from hotich_runtime.app import run, service_app


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    """Return the reporting app."""
    return service_app(
        name="reporting",
        settings=settings or ReportingSettings(),
        setup=bootstrap.setup,
        teardown=bootstrap.teardown,
        routers=[api.router, dashboard.router],
        title="hotich reporting",
        description="Progress of the digitization plan (báo cáo tiến độ), register books, "
        "cost, deadlines, acceptance (nghiệm thu) and the reports to the Department and "
        "the Province. Dashboard at /dashboard.",
    )


def main() -> None:
    """Run the service with settings from the environment."""
    run("hotich_reporting.entrypoints.app:create_app", ReportingSettings())

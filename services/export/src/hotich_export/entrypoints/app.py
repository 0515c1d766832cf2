"""ASGI entrypoint of the export service."""

from __future__ import annotations

from fastapi import FastAPI

from hotich_export import bootstrap
from hotich_export.config import ExportSettings
from hotich_runtime.app import run, service_app


def create_app(settings: ExportSettings | None = None) -> FastAPI:
    """Return the export service app."""
    return service_app(
        name="export",
        settings=settings or ExportSettings(),
        setup=bootstrap.setup,
        teardown=bootstrap.teardown,
        description="Forwards accepted records to the national database.",
    )


def main() -> None:
    """Run the service with settings from the environment."""
    run("hotich_export.entrypoints.app:create_app", ExportSettings())

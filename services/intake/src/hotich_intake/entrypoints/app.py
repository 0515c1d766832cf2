"""ASGI entrypoint of the intake service."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from hotich_intake import bootstrap
from hotich_intake.config import IntakeSettings
from hotich_intake.entrypoints.api import router
from hotich_intake.entrypoints.errors import unavailable_handler, validation_error_handler
from hotich_runtime.app import run, service_app
from hotich_runtime.errors import RetryableError


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """Return the intake app."""
    app = service_app(
        name="intake",
        settings=settings or IntakeSettings(),
        setup=bootstrap.setup,
        teardown=bootstrap.teardown,
        routers=[router],
        title="hotich intake",
        description="Entry of civil status records (nhập dữ liệu hộ tịch).",
    )
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(RetryableError, unavailable_handler)
    return app


def main() -> None:
    """Run the service with settings from the environment."""
    run("hotich_intake.entrypoints.app:create_app", IntakeSettings())

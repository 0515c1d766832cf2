"""ASGI entrypoint of the validation service."""

from __future__ import annotations

from fastapi import FastAPI

from hotich_runtime.app import run, service_app
from hotich_validation import bootstrap
from hotich_validation.config import ValidationSettings


def create_app(settings: ValidationSettings | None = None) -> FastAPI:
    """Return the validation service app."""
    return service_app(
        name="validation",
        settings=settings or ValidationSettings(),
        setup=bootstrap.setup,
        description="Applies the plan's rules (kiểm tra theo kế hoạch).",
    )


def main() -> None:
    """Run the service with settings from the environment."""
    run("hotich_validation.entrypoints.app:create_app", ValidationSettings())

"""ASGI entrypoint of the dedup service: ``uvicorn --factory hotich_dedup.entrypoints.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from hotich_dedup import bootstrap
from hotich_dedup.config import DedupSettings
from hotich_dedup.entrypoints.api import router
from hotich_runtime.app import run, service_app


def create_app(settings: DedupSettings | None = None) -> FastAPI:
    """Return the dedup service app: the consumer, and the review API."""
    return service_app(
        name="dedup",
        settings=settings or DedupSettings(),
        setup=bootstrap.setup,
        teardown=bootstrap.teardown,
        routers=[router],
        title="hotich dedup",
        description="Finds duplicate records (phát hiện trùng lặp) and serves their review.",
    )


def main() -> None:
    """Run the service with settings from the environment."""
    run("hotich_dedup.entrypoints.app:create_app", DedupSettings())

"""ASGI entrypoint of the export service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from hotich_export import bootstrap
from hotich_export.config import ExportSettings
from hotich_export.service_layer.handlers import Exporter
from hotich_runtime.app import run, service_app

router = APIRouter(tags=["export"])


@router.get("/v1/export/status", summary="Deliveries by state and the circuit breaker")
async def export_status(request: Request) -> dict[str, Any]:
    """Counts of parked, failed and exported versions; the breaker's state."""
    exporter: Exporter = request.app.state.runtime.state["exporter"]
    summary = await exporter.store.summary()
    return {
        "deliveries": summary.by_state,
        "oldest_pending_due": summary.oldest_pending_due,
        "breaker": exporter.breaker.state.value,
        "breaker_opened": exporter.breaker.opened,
    }


def create_app(settings: ExportSettings | None = None) -> FastAPI:
    """Return the export service app; the retry loop runs while the broker does."""
    app = service_app(
        name="export",
        settings=settings or ExportSettings(),
        setup=bootstrap.setup,
        teardown=bootstrap.teardown,
        routers=[router],
        description="Forwards accepted records to the national database.",
    )
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The shared lifespan starts the broker after `setup`; retries publish, so they
        # start once it runs and (teardown) stop before it does.
        async with inner(app):
            await bootstrap.started(app.state.runtime)
            yield

    app.router.lifespan_context = lifespan
    return app


def main() -> None:
    """Run the service with settings from the environment."""
    run("hotich_export.entrypoints.app:create_app", ExportSettings())

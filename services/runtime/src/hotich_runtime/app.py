"""The composition every service shares: settings -> store -> broker -> subscriptions -> HTTP.

A service provides a ``setup`` coroutine that builds its adapters and handlers from a
:class:`Runtime` and returns its subscriptions; this module owns the lifecycle, so no
service opens a connection at import time.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from faststream.kafka import KafkaBroker
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase

from hotich_runtime import mongo
from hotich_runtime.gc_tuning import tune_gc
from hotich_runtime.http import ops_router
from hotich_runtime.kafka import (
    BatchSubscription,
    EventPublisher,
    make_broker,
    make_producer,
    pipelined_consumer,
    subscribe,
)
from hotich_runtime.logs import configure_logging
from hotich_runtime.memory_profile import trace_memory
from hotich_runtime.memory_trim import start_trimming
from hotich_runtime.pipelined import PipelinedConsumer
from hotich_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The live clients of one service process, built in the app's lifespan."""

    name: str
    settings: ServiceSettings
    broker: KafkaBroker
    publisher: EventPublisher
    mongo_client: AsyncIOMotorClient[dict[str, Any]]
    db: AsyncIOMotorDatabase[dict[str, Any]]
    state: dict[str, Any]


Setup = Callable[[Runtime], Awaitable[Sequence[BatchSubscription[Any]]]]


def telemetry_config() -> TelemetryConfig | None:
    """FastAPI's native OpenTelemetry: its default, unless nothing can turn it on.

    Left at its default, FastAPI asks on every request whether a tracer, meter or logger
    provider has been set since (global and environment look-ups: ~3 % of intake's CPU
    per single POST). This code base never sets one, so with no ``OTEL_*`` or
    ``FASTAPI_OTEL_*`` variable at start-up it is turned off; with one, left as it is.
    """
    if any(k.startswith(("OTEL_", "FASTAPI_OTEL_")) for k in os.environ):
        return None
    return {"tracing": False, "metrics": False, "logs": False}


Teardown = Callable[[Runtime], Awaitable[None]]


def service_app(
    *,
    name: str,
    settings: ServiceSettings,
    setup: Setup,
    teardown: Teardown | None = None,
    routers: Sequence[APIRouter] = (),
    title: str | None = None,
    description: str = "",
) -> FastAPI:
    """Return the FastAPI app of service ``name``; connections open in its lifespan."""
    configure_logging(name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.make_client(settings.mongodb_url, app_name=f"hotich-{name}")
        broker = make_broker(settings, client_id=f"hotich-{name}-{settings.instance_id}")
        producer = make_producer(settings, client_id=f"hotich-{name}-{settings.instance_id}")
        runtime = Runtime(
            name=name,
            settings=settings,
            broker=broker,
            publisher=EventPublisher(producer),
            mongo_client=client,
            db=mongo.database(client, settings.mongodb_database),
            state={},
        )
        app.state.runtime = runtime
        client_id = f"hotich-{name}-{settings.instance_id}"
        pipelined: list[PipelinedConsumer[Any]] = []
        app.state.pipelined = pipelined
        # Whatever started is stopped in reverse order, also when a later start fails.
        async with contextlib.AsyncExitStack() as started:
            started.callback(client.close)
            for subscription in await setup(runtime):
                if subscription.pipelined:
                    pipelined.append(
                        pipelined_consumer(
                            subscription, runtime.publisher, settings, client_id=client_id
                        )
                    )
                else:
                    subscribe(broker, subscription, runtime.publisher, settings)
            await producer.start()
            started.push_async_callback(producer.stop)
            await broker.start()
            started.push_async_callback(broker.stop)
            if teardown is not None:
                started.push_async_callback(teardown, runtime)
            for consumer in pipelined:
                await consumer.start()
                started.push_async_callback(consumer.stop)
            log.info("started", extra={"instance": settings.instance_id})
            yield
        log.info("stopped", extra={"instance": settings.instance_id})

    app = FastAPI(
        title=title or f"hotich {name}",
        description=description,
        lifespan=lifespan,
        telemetry=telemetry_config(),
    )

    async def kafka_ready() -> bool:
        return await app.state.runtime.broker.ping(timeout=3.0)  # type: ignore[no-any-return]

    async def store_ready() -> bool:
        return await mongo.ping(app.state.runtime.mongo_client)

    async def consumers_running() -> bool:
        return all(c.running for c in app.state.pipelined)

    app.include_router(
        ops_router({"kafka": kafka_ready, "mongodb": store_ready, "consumers": consumers_running})
    )
    for router in routers:
        app.include_router(router)
    return app


def run(app_path: str, settings: ServiceSettings) -> None:
    """Serve ``app_path`` (``module:factory``) with uvicorn on the configured port."""
    import uvicorn

    tune_gc(settings.gc_threshold)  # here, not in the lifespan: tests embed the apps
    start_trimming(settings.malloc_trim_interval_s)
    if settings.tracemalloc_file:  # diagnosis only
        trace_memory(settings.tracemalloc_file, settings.tracemalloc_frames)
    uvicorn.run(
        app_path,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )

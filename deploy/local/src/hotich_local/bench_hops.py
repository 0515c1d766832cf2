"""The bare-hops baseline of ``hotich bench``: the pipeline's hops with no business logic.

The pipeline is five processes in a row: intake (HTTP → store → Kafka), validation,
dedup, export (Kafka → store → Kafka) and reporting (Kafka → store). The baseline is
five processes doing exactly those hops on the same broker and store, and nothing
else: no pydantic models, no rules, no matching, no national calls, no projection.

* hop 0, ``ingress``: a FastAPI endpoint ``POST /batch`` taking intake's batch body
  (``{"items": [{"record": ..., "idempotency_key": ...}]}``); it writes the items to the
  store (one ``insert_many``), publishes one message per item to
  ``hotich.bench.hop1`` with ``acks=all`` and answers once Kafka acknowledged them all;
* hops 1..N-1, ``relay``: a consumer group reads ``hotich.bench.hop<i>`` in batches of
  up to 500 (the services' default), upserts each message by key into the store
  (one ``bulk_write``), publishes it to ``hotich.bench.hop<i+1>`` (not the last hop),
  waits for the acknowledgements and commits the offsets: the services' at-least-once
  batch loop.

Run as ``python -m hotich_local.bench_hops ingress|relay ...``; :func:`run_baseline`
(called by :mod:`hotich_local.bench`) starts them, drives them and times them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from hotich_runtime.app import telemetry_config

HOPS = 5
"""Processes in a row, as in the pipeline: intake, validation, dedup, export, reporting."""
TOPIC_PREFIX = "hotich.bench.hop"
BATCH = 500
"""Messages per consumer poll: the services' ``CONSUMER_MAX_RECORDS`` default."""


def topic(index: int) -> str:
    """Topic read by hop ``index`` (1-based; the ingress publishes to hop 1's)."""
    return f"{TOPIC_PREFIX}{index}"


def _producer(bootstrap: str, client_id: str) -> Any:
    from aiokafka import AIOKafkaProducer

    # The services' producer settings (hotich_runtime.kafka.make_producer).
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=512 * 1024,
        request_timeout_ms=15_000,
    )


async def _publish_all(producer: Any, name: str, messages: Iterable[tuple[bytes, bytes]]) -> None:
    sends = [await producer.send(name, value, key=key) for key, value in messages]
    await asyncio.gather(*sends)


def ingress_app(bootstrap: str, mongodb_url: str, database: str) -> Any:
    """Hop 0: HTTP → store → Kafka, answering after the acknowledgements."""
    from contextlib import asynccontextmanager

    from hotich_runtime import mongo

    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        client = mongo.make_client(mongodb_url, app_name="bench-hop0")
        producer = _producer(bootstrap, "hotich-bench-hop0")
        await producer.start()
        state.update(collection=client[database]["hop0"], producer=producer)
        try:
            yield
        finally:
            await producer.stop()
            client.close()

    app = FastAPI(lifespan=lifespan, telemetry=telemetry_config())  # as the services

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/batch")
    async def batch(request: Request) -> dict[str, Any]:
        body = await request.json()
        docs = [
            {"_id": str(uuid.uuid4()), "key": item.get("idempotency_key"), "record": item["record"]}
            for item in body["items"]
        ]
        await state["collection"].insert_many(docs, ordered=False)
        await _publish_all(
            state["producer"],
            topic(1),
            ((d["_id"].encode(), json.dumps(d, ensure_ascii=False).encode()) for d in docs),
        )
        return {"counts": {"created": len(docs)}}

    return app


async def relay(
    bootstrap: str, mongodb_url: str, database: str, index: int, last: bool, group: str
) -> None:
    """Hop ``index``: Kafka → store → Kafka (or only the store, for the last hop)."""
    from aiokafka import AIOKafkaConsumer
    from pymongo import ReplaceOne

    from hotich_runtime import mongo

    client = mongo.make_client(mongodb_url, app_name=f"bench-hop{index}")
    collection = client[database][f"hop{index}"]
    consumer = AIOKafkaConsumer(
        topic(index),
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=f"hotich-bench-hop{index}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH,
    )
    producer = None if last else _producer(bootstrap, f"hotich-bench-hop{index}")
    await consumer.start()
    if producer is not None:
        await producer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            messages = [m for ms in batches.values() for m in ms]
            if not messages:
                continue
            docs = [json.loads(m.value) for m in messages]
            for doc in docs:
                doc["hop"] = index
            await collection.bulk_write(
                [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False
            )
            if producer is not None:
                await _publish_all(
                    producer,
                    topic(index + 1),
                    (
                        (m.key or b"", json.dumps(d, ensure_ascii=False).encode())
                        for m, d in zip(messages, docs, strict=True)
                    ),
                )
            await consumer.commit()
    finally:
        await consumer.stop()
        if producer is not None:
            await producer.stop()
        client.close()


def main(argv: list[str] | None = None) -> None:
    """Run one hop process."""
    parser = argparse.ArgumentParser(description="one hop of hotich bench's baseline")
    parser.add_argument("role", choices=["ingress", "relay"])
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--mongodb", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--index", type=int, default=1)
    parser.add_argument("--last", action="store_true")
    parser.add_argument("--group", default="")
    args = parser.parse_args(argv)
    from hotich_runtime.gc_tuning import threshold_from_env, tune_gc

    tune_gc(threshold_from_env())  # as the services are: the same ceiling
    if args.role == "ingress":
        import uvicorn

        uvicorn.run(
            ingress_app(args.kafka, args.mongodb, args.database),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
        )
    else:
        asyncio.run(
            relay(args.kafka, args.mongodb, args.database, args.index, args.last, args.group)
        )


def start_hops(
    bootstrap: str, mongodb_url: str, database: str, run: str, logs: Path
) -> tuple[dict[str, int], str, list[str]]:
    """Start the baseline's processes; return their pids by name, the ingress URL, the groups."""
    from hotich_local.infra import procs

    port = procs.free_port()
    common = ["--kafka", bootstrap, "--mongodb", mongodb_url, "--database", database]
    module = [sys.executable, "-m", "hotich_local.bench_hops"]
    pids = {
        "hop0-ingress": procs.start(
            [*module, "ingress", *common, "--port", str(port)], log_path=logs / "bench-hop0.log"
        )
    }
    groups = []
    for index in range(1, HOPS):
        group = f"hotich-bench-{run}-hop{index}"
        groups.append(group)
        args = [*module, "relay", *common, "--index", str(index), "--group", group]
        if index == HOPS - 1:
            args.append("--last")
        pids[f"hop{index}-relay"] = procs.start(args, log_path=logs / f"bench-hop{index}.log")
    return pids, f"http://127.0.0.1:{port}", groups


if __name__ == "__main__":
    main()

"""Settings shared by every service.

Each service subclasses :class:`ServiceSettings` with its own ``HOTICH_<SVC>_`` prefix.
The broker and store addresses fall back to the shared ``HOTICH_KAFKA_BOOTSTRAP`` and
``HOTICH_MONGODB_URL`` so that one pair of variables points the whole stack at external
Kafka and MongoDB; a prefixed variable overrides them for one service.
"""

from __future__ import annotations

import os
import socket

from pydantic import Field
from pydantic_settings import BaseSettings

from hotich_runtime.gc_tuning import threshold_from_env


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


class ServiceSettings(BaseSettings):
    """Broker, store and HTTP settings every service has."""

    kafka_bootstrap: str = Field(
        default_factory=lambda: _env("HOTICH_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        description="Kafka bootstrap servers, comma-separated.",
    )
    mongodb_url: str = Field(
        default_factory=lambda: _env("HOTICH_MONGODB_URL", "mongodb://127.0.0.1:27017"),
        description="MongoDB connection string (a replica set: transactions need one).",
    )
    mongodb_database: str = Field(default="hotich", description="This service's own database.")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    consumer_max_records: int = Field(default=500, ge=1, description="Batch size per poll.")
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    consumer_partition_fetch_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Most bytes one fetch takes from a partition (Kafka client default: 1 "
        "MiB). A consumer holds what it fetched twice while it parses it, for every "
        "partition it reads: at 1 MiB reporting held ~65 MB of fetched data draining a "
        "backlog; a batch still fills from many small fetches. A producer batch larger "
        "than this (the publisher's go up to 512 KiB) still comes whole when its partition "
        "is the first one a fetch reads (Kafka's KIP-74), so nothing gets stuck; draining "
        "100,000 records' events, 512 KiB made 1,738 records/s and 236 MB against 1,982-2,064 "
        "and 214 MB at 256 KiB.",
    )
    consumer_fetch_max_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Most bytes one fetch takes over all partitions (Kafka client default: "
        "50 MiB).",
    )
    log_level: str = "INFO"
    gc_threshold: int = Field(
        default_factory=threshold_from_env,
        ge=0,
        description="Allocations between young garbage collections (Python's default: 700; "
        "0 keeps Python's settings and skips gc.freeze).",
    )
    malloc_trim_interval_s: float = Field(
        default=5.0,
        ge=0,
        description="Seconds between handing freed memory back to the system (glibc "
        "malloc_trim; see hotich_runtime.memory_trim; 0: never).",
    )
    tracemalloc_file: str | None = Field(
        default=None,
        description="Diagnosis only: trace Python allocations and write the largest sites "
        "at each new high to this file (JSON; see hotich_runtime.memory_profile). Slows "
        "the service roughly by half.",
    )
    tracemalloc_frames: int = Field(
        default=1, ge=1, description="Traceback frames an allocation site is grouped by."
    )
    instance_id: str = Field(
        default_factory=lambda: _env("HOTICH_INSTANCE_ID", f"{socket.gethostname()}-{os.getpid()}"),
        description="Tells instances of one service apart in logs and metrics.",
    )

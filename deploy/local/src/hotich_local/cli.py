"""``hotich``: the command line of the local stack and of ops tasks.

``hotich up`` / ``down`` / ``status --json`` drive the local stack; ``hotich accounts``
manages accounts straight in intake's store (that is how the first admin is created).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from typing import Annotated

import typer

from hotich_local import export_ops, reporting_ops, stack
from hotich_local.dlq import dlq_app
from hotich_local.revalidate import revalidate_app
from hotich_local.synth.cli import generate_app

app = typer.Typer(
    help="hotich: digitization of civil status registers (số hóa hộ tịch).", no_args_is_help=True
)
accounts_app = typer.Typer(help="Accounts (tài khoản) in intake's store.", no_args_is_help=True)
infra_app = typer.Typer(help="Infrastructure helpers.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(infra_app, name="infra")
app.add_typer(generate_app, name="generate")
app.add_typer(revalidate_app, name="revalidate")
app.add_typer(export_ops.export_app, name="export")
app.add_typer(reporting_ops.reporting_app, name="reporting")
app.add_typer(dlq_app, name="dlq")

HomeOpt = Annotated[
    str | None,
    typer.Option(
        "--home", envvar="HOTICH_HOME", help="State and data directory (default ./.hotich)."
    ),
]
StoreServerOpt = Annotated[
    str | None,
    typer.Option(
        "--store-server",
        envvar="HOTICH_STORE_SERVER",
        help="Local store server: secantusd-py (default), secantusd-rs (the Rust build, "
        "see hotich infra build-store-rs) or a path to either.",
    ),
]


def _choose_store_server(choice: str | None) -> None:
    """Check the store server exists and pass the choice on to every store started here."""
    if not choice:
        return
    from hotich_local.infra import mongo

    try:
        mongo.secantus_executable(choice)
    except RuntimeError as exc:
        raise typer.BadParameter(str(exc), param_hint="--store-server") from exc
    os.environ["HOTICH_STORE_SERVER"] = choice


@app.command()
def up(
    home: HomeOpt = None,
    broker: Annotated[str, typer.Option(help="auto | kafka | tansu")] = "auto",
    kafka: Annotated[
        str | None,
        typer.Option(
            envvar="HOTICH_KAFKA_BOOTSTRAP", help="Use this external Kafka instead of starting one."
        ),
    ] = None,
    mongodb: Annotated[
        str | None,
        typer.Option(
            envvar="HOTICH_MONGODB_URL", help="Use this external MongoDB instead of SecantusDB."
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated services to start (default: all), e.g. intake,reporting."
        ),
    ] = None,
    scale: Annotated[
        list[str] | None,
        typer.Option(
            help="Instances of a service, e.g. --scale validation=3 (repeatable, or "
            "validation=3,dedup=2). On a running stack, starts or stops instances."
        ),
    ] = None,
    stores: Annotated[
        int,
        typer.Option(
            min=1,
            help="Local SecantusDB processes, the services' databases spread over them "
            "(one process uses about one core; ignored with --mongodb).",
        ),
    ] = 1,
    store_server: StoreServerOpt = None,
) -> None:
    """Start the local stack (Kafka, store, national sandbox, services) and wait for health."""
    _choose_store_server(store_server)
    # Readiness polling expects refused connections; aiokafka would log each one.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    config = stack.StackConfig.load(
        home, broker=broker, external_kafka=kafka, external_mongodb=mongodb
    )
    config.stores = stores
    if only:
        config.only = tuple(name.strip() for name in only.split(",") if name.strip())
    try:
        config.scale = stack.parse_scale(",".join(scale or []))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scale") from exc
    try:
        state = asyncio.run(stack.up(config, echo=lambda m: typer.echo(m, err=True)))
    except stack.StackError as exc:
        typer.echo(f"hotich up failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(stack.describe(state))


@app.command()
def down(home: HomeOpt = None) -> None:
    """Stop the local stack; data stays in the home directory for the next ``up``."""
    config = stack.StackConfig.load(home)
    stopped = stack.down(config)
    typer.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@app.command()
def status(
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the stack's URLs and which processes run."""
    config = stack.StackConfig.load(home)
    info = stack.status(config)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            typer.echo(f"{key:18} {value}")
    if not info.get("running"):
        raise typer.Exit(3)


def _read_password(password_stdin: bool) -> str:
    if not password_stdin:
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\n")


@accounts_app.command("create")
def accounts_create(
    username: str,
    unit: Annotated[str, typer.Option("--unit", help="GSO code of the account's unit.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="clerk, district_officer, department_officer, migration_operator or admin",
        ),
    ],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    home: HomeOpt = None,
) -> None:
    """Create an account (the first admin is created this way)."""
    from hotich_local import accounts

    password = _read_password(password_stdin)
    try:
        config = stack.StackConfig.load(home)
        asyncio.run(
            accounts.create(
                config.mongodb_url("intake"),
                username,
                password,
                unit,
                role,
                database=config.intake_database(),
            )
        )
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"created {username} ({role}, unit {unit})")


def _set_locked(username: str, locked: bool, home: str | None) -> None:
    from hotich_local import accounts

    config = stack.StackConfig.load(home)
    if not asyncio.run(
        accounts.set_locked(
            config.mongodb_url("intake"), username, locked, database=config.intake_database()
        )
    ):
        typer.echo(f"error: no account {username}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{'locked' if locked else 'unlocked'} {username}")


@accounts_app.command("lock")
def accounts_lock(username: str, home: HomeOpt = None) -> None:
    """Lock an account: refused from its very next request."""
    _set_locked(username, True, home)


@accounts_app.command("unlock")
def accounts_unlock(username: str, home: HomeOpt = None) -> None:
    """Unlock an account."""
    _set_locked(username, False, home)


@app.command("topics")
def topics_create(
    kafka: Annotated[str, typer.Option(envvar="HOTICH_KAFKA_BOOTSTRAP")] = "127.0.0.1:9092",
    no_configs: Annotated[
        bool, typer.Option(help="Skip topic configs (brokers without compaction).")
    ] = False,
) -> None:
    """Create the topics of deploy/topics.yaml that do not exist yet."""
    from hotich_local.infra import topics

    created = asyncio.run(
        topics.ensure_topics(kafka, topics.load_topics(), with_configs=not no_configs)
    )
    typer.echo(f"created: {', '.join(created) if created else 'none (all exist)'}")


@infra_app.command("fetch")
def infra_fetch() -> None:
    """Fetch and cache the Kafka jars from Maven Central (no-op without Java/Maven)."""
    from hotich_local.infra import kafka

    path = kafka.fetch_if_possible(echo=lambda m: typer.echo(m, err=True))
    typer.echo(str(path) if path else "java or mvn missing: the local stack will use tansu")


@infra_app.command("build-store-rs")
def infra_build_store_rs() -> None:
    """Build secantusd-rs, the Rust SecantusDB (cargo, CMake and a C compiler; minutes)."""
    from hotich_local.infra import mongo

    try:
        path = mongo.build_rust_server(echo=lambda m: typer.echo(m, err=True))
    except RuntimeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(str(path))


@app.command("bench")
def bench(
    records: Annotated[
        int, typer.Option(help="Records to post (1366849: the plan's whole backlog).")
    ] = 30_000,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 2547,
    bulk_clients: Annotated[int, typer.Option(help="Clients posting batches.")] = 2,
    batch_size: Annotated[int, typer.Option(help="Records per batch (≤ 1,000).")] = 500,
    interactive_clients: Annotated[
        int, typer.Option(help="Clerks posting single records meanwhile.")
    ] = 4,
    interactive_share: Annotated[
        float, typer.Option(help="Share of the records the clerks post.")
    ] = 0.02,
    baseline: Annotated[
        bool, typer.Option(help="Also run the bare-hops baseline (the ceiling).")
    ] = True,
    baseline_records: Annotated[
        int | None, typer.Option(help="Records through the baseline (default: --records).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Give up waiting after this many seconds.")] = 3600,
    out: Annotated[str, typer.Option(help="Results (JSON).")] = "bench/results/e2e.json",
    plot: Annotated[
        str, typer.Option(help="Plot (PNG); empty for none.")
    ] = "bench/results/e2e.png",
    home: Annotated[
        str | None,
        typer.Option(
            "--home", help="Use the stack running there (default: a fresh stack in a temp dir)."
        ),
    ] = None,
    stores: Annotated[
        int,
        typer.Option(min=1, help="Store processes of a fresh stack (see hotich up --stores)."),
    ] = 1,
    store_server: StoreServerOpt = None,
    review: Annotated[
        bool,
        typer.Option(
            help="After the run, resolve every suspect through dedup's review API as the "
            "Department would (the truth as the paper register) and check the result."
        ),
    ] = True,
) -> None:
    """End-to-end benchmark: throughput, latency, lag, CPU and RSS, checked against the truth."""
    _choose_store_server(store_server)
    from pathlib import Path

    from hotich_local import bench as e2e

    options = e2e.BenchOptions(
        records=records,
        seed=seed,
        bulk_clients=bulk_clients,
        batch_size=batch_size,
        interactive_clients=interactive_clients,
        interactive_share=interactive_share,
        baseline=baseline,
        baseline_records=baseline_records,
        timeout_s=timeout,
        home=home,
        stores=stores,
        review=review,
        out=Path(out),
        plot=Path(plot) if plot else None,
    )
    results = asyncio.run(e2e.run(options))
    typer.echo(e2e.table(results))
    typer.echo(f"results: {out}" + (f", plot: {plot}" if plot else ""))
    reviewed = results["pipeline"].get("review") or {"passed": True, "checks": []}
    if not (results["correctness"]["passed"] and reviewed["passed"]):
        for row in [*results["correctness"]["checks"], *reviewed["checks"]]:
            if not row["ok"]:
                typer.echo(
                    f"MISMATCH {row['check']}: expected {row['expected']}, got {row['actual']}",
                    err=True,
                )
        raise typer.Exit(1)


@app.command("groups")
def groups(
    kafka: Annotated[
        str | None,
        typer.Option(envvar="HOTICH_KAFKA_BOOTSTRAP", help="Kafka (default: the local stack's)."),
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", help="Only this group (repeatable).")
    ] = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show hotich's consumer groups: members, their partitions, and lag per topic."""
    from hotich_local import groups as consumer_groups

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    state = stack.read_state(stack.StackConfig.load(home))
    bootstrap = kafka or (state.kafka if state is not None else "127.0.0.1:9092")
    found = asyncio.run(consumer_groups.describe_groups(bootstrap, group_ids=group or None))
    if as_json:
        typer.echo(json.dumps([g.as_dict() for g in found], indent=2))
    else:
        typer.echo(consumer_groups.render(found))

"""``hotich export``: operator commands of the export service.

* ``hotich export status`` – deliveries by state (pending = parked for a retry).
* ``hotich export redrive [--record ID ...] [--failed]`` – make failed and/or chosen
  records due for export again; the running export instances send them (same
  idempotency keys, same ordering per record, so a redrive never makes a second copy).
* ``hotich export reconcile`` – compare the receipts ledger with the national database,
  unit by unit: counts and per-version national ids; lists what is missing, extra or
  mismatched; exits 1 when they disagree.

They work on export's own database and, for ``reconcile``, the national database's
API. Addresses come from the options, else from the environment, else from the local
stack's ``state.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

from hotich_export.adapters.mongo_deliveries import MongoDeliveryStore
from hotich_export.adapters.national_http import HttpNationalDatabase
from hotich_export.service_layer import ops
from hotich_local import stack
from hotich_runtime import mongo
from hotich_runtime.errors import RetryableError

export_app = typer.Typer(
    help="Export to the national database: status, redrive, reconcile.", no_args_is_help=True
)

T = TypeVar("T")

HomeOpt = Annotated[
    str | None,
    typer.Option("--home", envvar="HOTICH_HOME", help="Local stack directory (default ./.hotich)."),
]
MongoOpt = Annotated[
    str | None,
    typer.Option("--mongodb", envvar="HOTICH_MONGODB_URL", help="Export's MongoDB."),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database", envvar="HOTICH_EXPORT_MONGODB_DATABASE", help="Export's database name."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@dataclass(frozen=True)
class Target:
    """Where export's store and the national database are."""

    mongodb_url: str
    database: str
    national_url: str
    national_api_key: str


def resolve(
    home: str | None,
    mongodb: str | None,
    database: str | None,
    national_url: str | None = None,
    api_key: str | None = None,
) -> Target:
    """Options first, then the environment (typer reads it), then the local stack's state."""
    config = stack.StackConfig.load(home)
    state = stack.read_state(config)
    if database is None:
        database = (
            stack.service_database(state, "export")
            if state is not None
            else f"{config.database_prefix}export"
        )
    if national_url is None:
        if state is not None and "national_sandbox" in state.urls:
            national_url = state.urls["national_sandbox"]
        else:
            national_url = f"http://127.0.0.1:{config.ports['national_sandbox']}"
    return Target(
        mongodb_url=mongodb or config.mongodb_url("export"),
        database=database,
        national_url=national_url,
        national_api_key=api_key or os.environ.get("HOTICH_NATIONAL_API_KEY", "sandbox-key"),
    )


def _run(target: Target, work: Callable[[MongoDeliveryStore], Awaitable[T]]) -> T:
    async def main() -> T:
        client = mongo.make_client(target.mongodb_url, app_name="hotich-export-ops")
        try:
            return await work(MongoDeliveryStore(mongo.database(client, target.database)))
        finally:
            client.close()

    try:
        return asyncio.run(main())
    except RetryableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    for key, value in data.items():
        typer.echo(f"{key:20} {value}")


@export_app.command("status")
def status(
    home: HomeOpt = None,
    mongodb: MongoOpt = None,
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deliveries by state: pending (parked for a retry), exported, failed, superseded."""
    target = resolve(home, mongodb, database)
    summary = _run(target, lambda store: store.summary())
    _print(
        {
            "database": target.database,
            "deliveries": summary.by_state,
            "oldest_pending_due": summary.oldest_pending_due,
        },
        as_json,
    )


@export_app.command("redrive")
def redrive(
    record: Annotated[
        list[str] | None,
        typer.Option("--record", help="A record id to export again (repeatable)."),
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Every record that failed for good.")
    ] = False,
    home: HomeOpt = None,
    mongodb: MongoOpt = None,
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export failed or chosen records again, through the running export instances.

    Failed versions are retried; pending ones are made due now; exported ones are sent
    again under the same key (the national database answers 409 if it holds them, or
    creates them again if it lost them). Each redriven outcome is a new event.
    """
    if not record and not failed:
        typer.echo("error: give --record ID (repeatable) and/or --failed", err=True)
        raise typer.Exit(2)
    target = resolve(home, mongodb, database)
    result = _run(target, lambda store: ops.redrive(store, record_ids=record or [], failed=failed))
    _print(
        {
            "redriven": [d.key for d in result.deliveries],
            "count": len(result.deliveries),
            "unknown_records": result.unknown_records,
        },
        as_json,
    )
    if result.unknown_records:
        raise typer.Exit(1)


@export_app.command("reconcile")
def reconcile(
    unit: Annotated[
        list[str] | None,
        typer.Option("--unit", help="Only this unit (repeatable); default every unit."),
    ] = None,
    home: HomeOpt = None,
    mongodb: MongoOpt = None,
    database: DatabaseOpt = None,
    national_url: Annotated[
        str | None, typer.Option("--national-url", envvar="HOTICH_NATIONAL_URL")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="HOTICH_NATIONAL_API_KEY")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare the receipts ledger with the national database; exit 1 if they disagree."""
    target = resolve(home, mongodb, database, national_url, api_key)

    async def work(store: MongoDeliveryStore) -> ops.Reconciliation:
        national = HttpNationalDatabase(target.national_url, target.national_api_key, 30.0)
        try:
            return await ops.reconcile(store, national, unit or [])
        finally:
            await national.aclose()

    report = _run(target, work)
    data = report.as_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo("clean" if report.clean else "DISCREPANCIES")
        for key, value in report.totals().items():
            typer.echo(f"  {key:18} {value}")
        for entry in data["units"]:  # type: ignore[attr-defined]
            typer.echo(
                f"  unit {entry['unit_code']}: missing {entry['missing']}, extra"
                f" {entry['extra']}, mismatched {entry['mismatched']}"
            )
    if not report.clean:
        raise typer.Exit(1)

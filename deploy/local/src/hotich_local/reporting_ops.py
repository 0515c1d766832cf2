"""``hotich reporting``: operator commands of the reporting service.

* ``survey import FILE``: load the survey baseline (CSV or .xlsx) into reporting's store;
* ``rebuild``: replay the lifecycle topics from the beginning into a fresh projection
  database and compare it with the live one (or rebuild the live one in place);
* ``verify``: compare two projection databases;
* ``export xlsx|csv``: write the district report or the Department's report;
* ``acceptance-plan``: the ISO 2859-1 sampling plan of a lot size and AQL.

They use reporting's own service layer and adapters over its own store, as the service
does; addresses default to the local stack's (``hotich up``), or the usual variables.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from hotich_local import stack

__all__ = ["reporting_app"]

reporting_app = typer.Typer(
    help="Reporting (báo cáo): survey baseline, projection rebuild, Excel/CSV reports.",
    no_args_is_help=True,
)
survey_app = typer.Typer(help="The survey baseline (khảo sát).", no_args_is_help=True)
export_app = typer.Typer(help="Reports as Excel or CSV files.", no_args_is_help=True)
reporting_app.add_typer(survey_app, name="survey")
reporting_app.add_typer(export_app, name="export")

HomeOpt = Annotated[
    str | None,
    typer.Option("--home", envvar="HOTICH_HOME", help="Local stack home (default ./.hotich)."),
]
MongoOpt = Annotated[
    str | None,
    typer.Option(
        "--mongodb", help="MongoDB URL (default: the local stack's, or HOTICH_MONGODB_URL)."
    ),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", help="Reporting's database (default: the local stack's)."),
]
KafkaOpt = Annotated[
    str | None,
    typer.Option(
        "--kafka", help="Kafka bootstrap (default: the local stack's, or HOTICH_KAFKA_BOOTSTRAP)."
    ),
]
PlanOpt = Annotated[
    str | None,
    typer.Option("--plan", help="Plan file or packaged plan name (default HOTICH_PLAN_FILE)."),
]


def _mongodb(home: str | None, url: str | None) -> str:
    return url or stack.StackConfig.load(home).mongodb_url("reporting")


def _database(home: str | None, name: str | None) -> str:
    if name:
        return name
    if env := os.environ.get("HOTICH_REPORTING_MONGODB_DATABASE"):
        return env
    intake = stack.StackConfig.load(home).intake_database()
    return intake.removesuffix("intake") + "reporting"


def _kafka(home: str | None, bootstrap: str | None) -> str:
    if bootstrap:
        return bootstrap
    state = stack.read_state(stack.StackConfig.load(home))
    if state is not None:
        return state.kafka
    return os.environ.get("HOTICH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


async def _with_client(url: str, work: Callable[[Any], Any]) -> Any:
    from hotich_runtime import mongo

    client = mongo.make_client(url, app_name="hotich-cli-reporting")
    try:
        return await work(client)
    finally:
        client.close()


@survey_app.command("import")
def survey_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or .xlsx file.")],
    replace: Annotated[bool, typer.Option(help="Drop the previous survey first.")] = False,
    plan: PlanOpt = None,
    home: HomeOpt = None,
    mongodb: MongoOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Import the survey baseline: one register book per row."""
    from hotich_contracts.plan import load_plan
    from hotich_contracts.units import default_registry
    from hotich_reporting.adapters.mongo_stores import MongoSurvey
    from hotich_reporting.adapters.spreadsheets import read_rows
    from hotich_reporting.domain.survey import SurveyError
    from hotich_reporting.service_layer.survey import import_survey

    rows = read_rows(file.read_bytes())
    name = _database(home, database)

    async def work(client: Any) -> dict[str, Any]:
        result: dict[str, Any] = await import_survey(
            MongoSurvey(client, client[name]),
            rows,
            plan=load_plan(plan),
            registry=default_registry(),
            principal=None,
            replace=replace,
        )
        return result

    try:
        result = asyncio.run(_with_client(_mongodb(home, mongodb), work))
    except SurveyError as exc:
        for error in exc.errors[:50]:
            typer.echo(f"line {error['line']}: {error['errors']}", err=True)
        typer.echo(f"error: {len(exc.errors)} bad row(s); nothing imported", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result, ensure_ascii=False))


@reporting_app.command("rebuild")
def rebuild(
    into: Annotated[
        str | None,
        typer.Option("--into", help="Database to rebuild into (default <database>_rebuild)."),
    ] = None,
    in_place: Annotated[
        bool,
        typer.Option(
            "--in-place",
            help="Rebuild the live projection itself (stop the reporting service first).",
        ),
    ] = False,
    compare: Annotated[bool, typer.Option(help="Compare the result with the live one.")] = True,
    topic_prefix: Annotated[
        str,
        typer.Option(
            "--topic-prefix",
            envvar="HOTICH_REPORTING_TOPIC_PREFIX",
            help="Prefix of the topics, as the service's HOTICH_REPORTING_TOPIC_PREFIX.",
        ),
    ] = "",
    home: HomeOpt = None,
    kafka: KafkaOpt = None,
    mongodb: MongoOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Replay the lifecycle topics from the beginning into a fresh projection.

    Exits 1 when the rebuilt projection differs from the live one.
    """
    from hotich_reporting.adapters.kafka_replay import ReplayStats, replay
    from hotich_reporting.adapters.mongo_projection import MongoProjection
    from hotich_reporting.service_layer import rebuild as service

    live_name = _database(home, database)
    target_name = live_name if in_place else (into or f"{live_name}_rebuild")
    bootstrap = _kafka(home, kafka)
    replay_stats = ReplayStats()

    async def work(client: Any) -> tuple[service.RebuildStats, list[str]]:
        target = MongoProjection(client, client[target_name])
        stats = await service.rebuild(replay(bootstrap, replay_stats, prefix=topic_prefix), target)
        differences: list[str] = []
        if compare and not in_place:
            differences = await service.compare(MongoProjection(client, client[live_name]), target)
        return stats, differences

    started = time.perf_counter()
    stats, differences = asyncio.run(_with_client(_mongodb(home, mongodb), work))
    typer.echo(
        json.dumps(
            {
                "database": target_name,
                "events": stats.events,
                "undecodable": replay_stats.undecodable,
                "records": stats.records,
                "read_seconds": round(stats.read_seconds, 2),
                "write_seconds": round(stats.write_seconds, 2),
                "seconds": round(time.perf_counter() - started, 2),
                "compared_with": live_name if compare and not in_place else None,
                "differences": len(differences),
            }
        )
    )
    for line in differences:
        typer.echo(f"  {line}", err=True)
    if differences:
        raise typer.Exit(1)


@reporting_app.command("verify")
def verify(
    against: Annotated[str, typer.Option("--against", help="The other projection database.")],
    home: HomeOpt = None,
    mongodb: MongoOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Compare two projection databases; exit 1 if they differ."""
    from hotich_reporting.adapters.mongo_projection import MongoProjection
    from hotich_reporting.service_layer.rebuild import compare

    name = _database(home, database)

    async def work(client: Any) -> list[str]:
        return await compare(
            MongoProjection(client, client[name]), MongoProjection(client, client[against])
        )

    differences: list[str] = asyncio.run(_with_client(_mongodb(home, mongodb), work))
    for line in differences:
        typer.echo(line)
    typer.echo(f"{name} vs {against}: {'identical' if not differences else 'DIFFERENT'}")
    if differences:
        raise typer.Exit(1)


def _export(
    fmt: Literal["xlsx", "csv"],
    report: str,
    phase: str,
    district: str | None,
    output: Path | None,
    sheet: int,
    today: str | None,
    plan: str | None,
    home: str | None,
    mongodb: str | None,
    database: str | None,
) -> None:
    from hotich_contracts.plan import load_plan
    from hotich_contracts.units import default_registry
    from hotich_reporting.adapters.mongo_projection import MongoProjection
    from hotich_reporting.adapters.mongo_stores import MongoAcceptance, MongoSurvey
    from hotich_reporting.adapters.spreadsheets import to_csv, to_xlsx
    from hotich_reporting.bootstrap import VIETNAM
    from hotich_reporting.service_layer import report_tables
    from hotich_reporting.service_layer.queries import Reports
    from hotich_runtime.auth import Principal, Role

    loaded = load_plan(plan)
    day = date.fromisoformat(today) if today else datetime.now(VIETNAM).date()
    operator = Principal("cli", loaded.province_code, Role.ADMIN)
    name = _database(home, database)

    async def work(client: Any) -> report_tables.ReportDocument:
        db = client[name]
        reports = Reports(
            projection=MongoProjection(client, db),
            survey=MongoSurvey(client, db),
            acceptance=MongoAcceptance(db),
            registry=default_registry(),
            plan=loaded,
            today=lambda: day,
        )
        if report == "district":
            if district is None:
                raise typer.BadParameter("--district is required for the district report")
            return await report_tables.district_report(reports, operator, phase, district)
        return await report_tables.province_report(reports, operator, phase)

    document = asyncio.run(_with_client(_mongodb(home, mongodb), work))
    content = to_xlsx(document) if fmt == "xlsx" else to_csv(document, sheet)
    path = output or Path(f"{document.name}.{fmt}")
    path.write_bytes(content)
    typer.echo(str(path))


ReportOpt = Annotated[
    str,
    typer.Option("--report", help="district (to the Department) or province (to the Province)."),
]
PhaseOpt = Annotated[str, typer.Option("--phase", help="1, 2, 3 or migration.")]
DistrictOpt = Annotated[
    str | None, typer.Option("--district", help="District code (district report).")
]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")]
TodayOpt = Annotated[
    str | None, typer.Option("--today", help="Report date YYYY-MM-DD (default today).")
]


@export_app.command("xlsx")
def export_xlsx(
    report: ReportOpt = "province",
    phase: PhaseOpt = "1",
    district: DistrictOpt = None,
    output: OutputOpt = None,
    today: TodayOpt = None,
    plan: PlanOpt = None,
    home: HomeOpt = None,
    mongodb: MongoOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Write a report as an Excel workbook (one sheet per table)."""
    _export("xlsx", report, phase, district, output, 0, today, plan, home, mongodb, database)


@export_app.command("csv")
def export_csv(
    report: ReportOpt = "province",
    phase: PhaseOpt = "1",
    district: DistrictOpt = None,
    output: OutputOpt = None,
    sheet: Annotated[int, typer.Option("--sheet", help="Which table (0 = by unit).")] = 0,
    today: TodayOpt = None,
    plan: PlanOpt = None,
    home: HomeOpt = None,
    mongodb: MongoOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Write one table of a report as CSV (UTF-8 with BOM)."""
    _export("csv", report, phase, district, output, sheet, today, plan, home, mongodb, database)


@reporting_app.command("acceptance-plan")
def acceptance_plan(
    lot_size: Annotated[int, typer.Option("--lot-size", min=1)],
    aql: Annotated[str, typer.Option("--aql")] = "1.0",
) -> None:
    """Print the ISO 2859-1 plan (level II, single, normal) of a lot."""
    from hotich_reporting.domain.iso2859 import single_sampling_plan

    try:
        plan = single_sampling_plan(lot_size, aql)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(
        json.dumps(
            {
                "lot_size": plan.lot_size,
                "aql": plan.aql,
                "code_letter": plan.code_letter,
                "plan_letter": plan.plan_letter,
                "sample_size": plan.sample_size,
                "acceptance_number": plan.acceptance_number,
                "rejection_number": plan.rejection_number,
            }
        )
    )

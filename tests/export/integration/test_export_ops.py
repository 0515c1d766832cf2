"""``hotich export status / redrive / reconcile`` against a running export process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hotich_contracts.events import RecordExported, RecordStatus
from hotich_export.domain.delivery import idempotency_key
from hotich_local.export_ops import export_app
from tests.export.helpers import accepted
from tests.export.integration.conftest import (
    ADMIN,
    ExportService,
    Sandbox,
    Topics,
    publish,
    read_outcomes,
)
from tests.fixtures.polling import eventually

pytestmark = pytest.mark.integration

RULE = ["record_type", "registration_date", "book_number", "entry_number", "page"]


async def hotich_export(*args: str) -> tuple[int, Any]:
    """Run ``hotich export ARGS --json`` (in a thread: the command runs its own loop)."""
    result = await asyncio.to_thread(CliRunner().invoke, export_app, [*args, "--json"])
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError as exc:
        raise AssertionError(f"{result.exit_code}: {result.output}") from exc


async def test_failed_records_are_redriven_and_the_ledger_reconciled(
    kafka_bootstrap: str,
    mongodb_url: str,
    database_name: str,
    export_topics: Topics,
    sandbox: Sandbox,
    export_service: ExportService,
    tmp_path: Path,
) -> None:
    await sandbox.rules(RULE)
    await export_service.start(retry_idle_s="0.2")
    good = [accepted(f"ok-{i}") for i in range(6)]
    bad = [accepted(f"bad-{i}", page=None) for i in range(3)]
    await publish(kafka_bootstrap, export_topics.source, good + bad)
    where = [
        "--home",
        str(tmp_path / "no-stack"),
        "--mongodb",
        mongodb_url,
        "--database",
        database_name,
    ]
    national = ["--national-url", sandbox.url, "--api-key", "sandbox-key"]

    async def counts() -> Any:
        code, status = await hotich_export("status", *where)
        assert code == 0
        states = status["deliveries"]
        return states if states.get("exported", 0) + states.get("failed", 0) == 9 else None

    assert await eventually(counts, within=60, what="first pass") == {"exported": 6, "failed": 3}
    code, report = await hotich_export("reconcile", *where, *national)
    assert (code, report["clean"]) == (0, True)
    assert report["totals"]["ledger_versions"] == report["totals"]["national_versions"] == 6

    # The national rule is relaxed; the operator redrives what failed.
    await sandbox.rules(RULE[:-1])
    code, redriven = await hotich_export("redrive", "--failed", *where)
    assert code == 0
    assert redriven["redriven"] == sorted(idempotency_key(e.record_id, 1) for e in bad)

    async def all_exported() -> Any:
        states = (await hotich_export("status", *where))[1]["deliveries"]
        return states == {"exported": 9}

    await eventually(all_exported, within=30, what="redriven records exported")

    def both_outcomes(seen: list[RecordExported]) -> bool:
        return sum(e.payload.status == RecordStatus.EXPORTED for e in seen) >= 9

    outcomes = await read_outcomes(kafka_bootstrap, export_topics.exported, both_outcomes, 30)
    for event in bad:
        mine = [o for o in outcomes if o.record_id == event.record_id]
        assert [o.payload.status for o in mine] == [
            RecordStatus.EXPORT_FAILED,
            RecordStatus.EXPORTED,
        ]
        assert mine[0].event_id != mine[1].event_id  # the redrive's outcome is news downstream

    # The national side loses a record: reconcile finds it, a redrive puts it back.
    lost_id = (
        await sandbox.client.get("/v1/records/by-key/ok-0:v1", headers={"X-API-Key": "sandbox-key"})
    ).json()["national_id"]
    assert (
        await sandbox.client.delete(f"/admin/records/{lost_id}", headers=ADMIN)
    ).status_code == 200
    code, report = await hotich_export("reconcile", *where, *national)
    assert code == 1
    assert report["clean"] is False
    assert report["totals"]["missing"] == 1
    [unit] = report["units"]
    assert unit["missing"] == ["ok-0:v1"]

    code, redriven = await hotich_export(
        "redrive", "--record", "ok-0", "--record", "nobody", *where
    )
    assert code == 1  # an unknown record is reported
    assert redriven["redriven"] == ["ok-0:v1"]
    assert redriven["unknown_records"] == ["nobody"]

    async def reconciled() -> bool:
        code, report = await hotich_export("reconcile", *where, *national)
        return code == 0 and bool(report["clean"])

    await eventually(reconciled, within=30, what="reconciled after the redrive")


def test_redrive_needs_a_selection(tmp_path: Path) -> None:
    result = CliRunner().invoke(export_app, ["redrive", "--home", str(tmp_path)])
    assert result.exit_code == 2
    assert "--failed" in result.output

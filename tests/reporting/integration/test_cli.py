"""``hotich reporting`` commands against the real store and broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from hotich_local.reporting_ops import reporting_app
from tests.fixtures.infra import unique_database_name
from tests.reporting import scenario as sc
from tests.reporting.integration.conftest import TOPIC_PREFIX, Service

pytestmark = pytest.mark.integration

runner = CliRunner()


def test_acceptance_plan() -> None:
    result = runner.invoke(reporting_app, ["acceptance-plan", "--lot-size", "1000", "--aql", "2.5"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sample_size"] == 80
    bad = runner.invoke(reporting_app, ["acceptance-plan", "--lot-size", "1000", "--aql", "3"])
    assert bad.exit_code == 2


def test_survey_import(reporting_service: Service, tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_bytes(sc.survey_csv(reporting_service.scenario))
    database = unique_database_name("cli_survey")
    args = [
        "survey",
        "import",
        str(path),
        "--mongodb",
        reporting_service.mongodb_url,
        "--database",
        database,
    ]
    result = runner.invoke(reporting_app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["books"] == len(reporting_service.scenario.survey)
    assert summary["entries"] == sum(r.entries for r in reporting_service.scenario.survey)
    path.write_text(
        "unit_code,record_type,book_number,year_from,year_to,entries\n99999,birth,1,2000,2000,1\n"
    )
    refused = runner.invoke(reporting_app, args)
    assert refused.exit_code == 2
    assert "line 2" in refused.output


def test_rebuild_verify_and_export(reporting_service: Service, tmp_path: Path) -> None:
    live = reporting_service.settings.mongodb_database
    target = unique_database_name("cli_rebuild")
    common = ["--mongodb", reporting_service.mongodb_url, "--database", live]
    result = runner.invoke(
        reporting_app,
        [
            "rebuild",
            "--kafka",
            reporting_service.bootstrap,
            "--topic-prefix",
            TOPIC_PREFIX,
            "--into",
            target,
            *common,
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[0])
    assert summary["differences"] == 0
    assert summary["records"] == len(reporting_service.scenario.finals)
    verified = runner.invoke(reporting_app, ["verify", "--against", target, *common])
    assert verified.exit_code == 0, verified.output
    assert "identical" in verified.output

    output = tmp_path / "huyen.xlsx"
    exported = runner.invoke(
        reporting_app,
        [
            "export",
            "xlsx",
            "--report",
            "district",
            "--district",
            "705",
            "--phase",
            "2",
            "-o",
            str(output),
            "--today",
            "2020-07-20",
            *common,
        ],
    )
    assert exported.exit_code == 0, exported.output
    sheet = load_workbook(output)["Tổng hợp theo đơn vị"]
    assert sheet["A1"].value == "ỦY BAN NHÂN DÂN HUYỆN TÂN BIÊN"
    csv_path = tmp_path / "so.csv"
    exported = runner.invoke(
        reporting_app,
        ["export", "csv", "--report", "province", "--phase", "2", "-o", str(csv_path), *common],
    )
    assert exported.exit_code == 0, exported.output
    assert csv_path.read_text("utf-8-sig").startswith("STT,Mã đơn vị,Tên đơn vị")

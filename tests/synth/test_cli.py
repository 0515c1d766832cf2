"""``hotich generate`` mounted on a parent app, as the lead mounts it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from hotich_local.synth.cli import generate_app
from hotich_local.synth.writers import read_csv


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(generate_app, name="generate")

    @app.command()
    def version() -> None:  # a second command, so that "generate" is a sub-command
        typer.echo("0")

    return app


def test_generate_writes_items_survey_and_a_summary(tmp_path: Path) -> None:
    output, survey = tmp_path / "items.ndjson", tmp_path / "survey.csv"
    result = CliRunner().invoke(
        _app(),
        [
            "generate",
            "--seed",
            "7",
            "--total",
            "1500",
            "--province-level",
            "30",
            "--output",
            str(output),
            "--survey",
            str(survey),
        ],
    )
    assert result.exit_code == 0, result.stderr
    lines = output.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1500
    assert sum(json.loads(line)["truth"]["level"] == "province" for line in lines) == 30
    assert survey.read_text(encoding="utf-8").startswith("book_id,")
    assert "items: 1500" in result.stderr
    assert "record type:" in result.stderr
    assert "noise:" in result.stderr
    assert result.stdout == ""


def test_generate_to_stdout_as_csv_with_rate_overrides() -> None:
    result = CliRunner().invoke(
        _app(),
        [
            "generate",
            "--total",
            "400",
            "--province-level",
            "0",
            "--format",
            "csv",
            "--truth-only",
            "--rate-duplicate-exact",
            "0",
            "--rate-typo",
            "1",
            "--units",
            "705,25459",
        ],
    )
    assert result.exit_code == 0, result.stderr
    truths = list(read_csv(result.stdout.splitlines()))
    assert len(truths) == 400
    assert not any(t["duplicate_kind"] == "exact" for t in truths)
    assert all("typo" in t["noise"] for t in truths if t["duplicate_kind"] is None)
    assert {t["book_id"].split("/")[0] for t in truths} <= {"705", "25459"} | {
        str(code) for code in range(25486, 25514, 3)
    }


def test_generate_refuses_bad_options() -> None:
    runner = CliRunner()
    unknown = runner.invoke(_app(), ["generate", "--total", "10", "--units", "99999"])
    assert unknown.exit_code == 2
    assert "99999" in unknown.stderr
    too_many = runner.invoke(_app(), ["generate", "--total", "10", "--province-level", "20"])
    assert too_many.exit_code == 2
    bad_rate = runner.invoke(_app(), ["generate", "--rate-typo", "1.5"])
    assert bad_rate.exit_code == 2

"""``hotich generate``: write synthetic registers with ground truth, and their survey.

Mount with ``app.add_typer(generate_app, name="generate")``; the options sit on the
group's callback, so ``hotich generate --total 20000 --output items.ndjson`` runs it
without a sub-command. Items go to ``--output`` (standard output by default), the
summary (counts per type, outcome, phase, noise) to standard error at the end.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from hotich_local.synth.generator import generate
from hotich_local.synth.model import (
    PLAN_PROVINCE_LEVEL,
    PLAN_TOTAL,
    GenerationConfig,
    GenerationSummary,
    Item,
    NoiseRates,
)
from hotich_local.synth.survey import survey_rows
from hotich_local.synth.writers import open_output, write_csv, write_ndjson, write_survey_csv

__all__ = ["OutputFormat", "generate_app", "generate_command"]


class OutputFormat(StrEnum):
    """Output formats of the items."""

    NDJSON = "ndjson"
    CSV = "csv"


generate_app = typer.Typer(
    help="Synthetic civil status registers with ground truth (sổ hộ tịch giả lập).",
    invoke_without_command=True,
)

RateOpt = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        show_default=False,
        help="Override this noise rate (0 to 1); defaults and meanings in NoiseRates.",
    ),
]


def _counted(items: Iterable[Item], summary: GenerationSummary) -> Iterator[Item]:
    for item in items:
        summary.add(item["truth"])
        yield item


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (tests): nothing will be flushed to a closed pipe


def _units(values: list[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    codes = [code.strip() for value in values for code in value.split(",") if code.strip()]
    return tuple(codes) or None


@generate_app.callback(invoke_without_command=True)
def generate_command(
    seed: Annotated[int, typer.Option(help="Seed: the same options give the same bytes.")] = 2547,
    total: Annotated[int, typer.Option(min=0, help="Number of items.")] = PLAN_TOTAL,
    province_level: Annotated[
        int,
        typer.Option(
            min=0,
            help="Items from the Department of Justice's books (the plan writes 22,668; "
            "22,268 is what its amounts imply).",
        ),
    ] = PLAN_PROVINCE_LEVEL,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="ndjson or csv.")
    ] = OutputFormat.NDJSON,
    output: Annotated[str, typer.Option(help="Items file, or '-' for standard output.")] = "-",
    survey: Annotated[
        str | None, typer.Option(help="Also write the survey baseline CSV here.")
    ] = None,
    truth_only: Annotated[
        bool, typer.Option(help="Write only the truth, not the records.")
    ] = False,
    units: Annotated[
        list[str] | None,
        typer.Option(
            help="Limit to these unit codes (repeat or comma-separate); a district brings "
            "its communes, the province code only the Department of Justice."
        ),
    ] = None,
    plan: Annotated[
        str | None, typer.Option(help="Plan file or packaged plan name (default: Tây Ninh).")
    ] = None,
    rate_not_enterable: RateOpt = None,
    rate_damaged_readable: RateOpt = None,
    rate_typo: RateOpt = None,
    rate_diacritic_variant: RateOpt = None,
    rate_partial_date: RateOpt = None,
    rate_duplicate_exact: RateOpt = None,
    rate_duplicate_probable: RateOpt = None,
    rate_out_of_scope_type: RateOpt = None,
    rate_out_of_scope_date: RateOpt = None,
    rate_marital_status_other: RateOpt = None,
    rate_migration: RateOpt = None,
    rate_wrong_entering_unit: RateOpt = None,
    rate_unknown_authority: RateOpt = None,
    rate_malformed: RateOpt = None,
) -> None:
    """Generate synthetic register entries with ground truth (default: the plan's 1,366,849).

    Rates override the defaults of NoiseRates (see ``hotich_local.synth.model``).
    """
    overrides: dict[str, Any] = {
        name: value
        for name, value in {
            "not_enterable": rate_not_enterable,
            "damaged_readable": rate_damaged_readable,
            "typo": rate_typo,
            "diacritic_variant": rate_diacritic_variant,
            "partial_date": rate_partial_date,
            "duplicate_exact": rate_duplicate_exact,
            "duplicate_probable": rate_duplicate_probable,
            "out_of_scope_type": rate_out_of_scope_type,
            "out_of_scope_date": rate_out_of_scope_date,
            "marital_status_other": rate_marital_status_other,
            "migration": rate_migration,
            "wrong_entering_unit": rate_wrong_entering_unit,
            "unknown_authority": rate_unknown_authority,
            "malformed": rate_malformed,
        }.items()
        if value is not None
    }
    try:
        config = GenerationConfig(
            seed=seed,
            total=total,
            province_level=province_level,
            rates=NoiseRates(**overrides),
            units=_units(units),
            plan=plan,
        )
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc

    started = time.perf_counter()
    summary = GenerationSummary()
    try:
        if survey is not None:
            with open_output(survey) as handle:
                books = write_survey_csv(survey_rows(config), handle)
            typer.echo(f"survey: {books} books written to {survey}", err=True)
        items = _counted(generate(config), summary)
        with open_output(output) as handle:
            if output_format is OutputFormat.CSV:
                write_csv(items, handle, truth_only=truth_only)
            else:
                write_ndjson(items, handle, truth_only=truth_only)
    except BrokenPipeError as exc:
        # The reader stopped early (``hotich generate | head``): not an error of ours,
        # but stdout must not be flushed again at exit.
        _silence_stdout()
        typer.echo(f"hotich generate: output closed after {summary.items} items", err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:
        # Unknown units, a selection with nothing to generate, an invalid plan file.
        typer.echo(f"hotich generate: {exc}", err=True)
        raise typer.Exit(2) from exc
    elapsed = time.perf_counter() - started
    rate = summary.items / elapsed if elapsed > 0 else 0.0
    typer.echo(summary.as_text(), err=True)
    typer.echo(f"elapsed: {elapsed:.1f} s ({rate:,.0f} items/s)", err=True)
    sys.stderr.flush()

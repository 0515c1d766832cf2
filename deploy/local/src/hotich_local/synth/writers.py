"""Writers (and readers, for round trips) of generated items and of the survey.

- NDJSON: one JSON object per line, ``{"record": {...}, "truth": {...}}`` (or just the
  truth with ``truth_only``), UTF-8, Vietnamese text unescaped.
- CSV: the truth fields as columns (lists joined with ``;``, None as empty) and the
  record as compact JSON in the last column, ``record``.
- Survey CSV: :data:`~hotich_local.synth.survey.SURVEY_COLUMNS`.

Writers stream: they hold at most a small batch of lines, whatever the number of items.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Final, TextIO, cast

from hotich_local.synth.model import Item, Truth
from hotich_local.synth.survey import SURVEY_COLUMNS, SurveyRow

__all__ = [
    "CSV_COLUMNS",
    "TRUTH_COLUMNS",
    "open_output",
    "read_csv",
    "read_ndjson",
    "write_csv",
    "write_ndjson",
    "write_survey_csv",
]

TRUTH_COLUMNS: Final = (
    "id",
    "record_type",
    "source",
    "level",
    "book_id",
    "entering_unit_code",
    "entered_on",
    "outcome",
    "reasons",
    "final_status",
    "phase",
    "duplicate_of",
    "duplicate_kind",
    "noise",
    "malformed",
)
"""Truth columns of the items CSV, in order."""

CSV_COLUMNS: Final = (*TRUTH_COLUMNS, "record")
"""All columns of the items CSV."""

_LIST_FIELDS: Final = frozenset({"reasons", "noise"})
_OPTIONAL_FIELDS: Final = frozenset({"duplicate_of", "duplicate_kind"})
_BATCH: Final = 2000


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@contextmanager
def open_output(path: str | Path) -> Iterator[TextIO]:
    """Open a UTF-8 text output: a file path, or ``-`` for standard output.

    Standard output is wrapped, not closed, so that UTF-8 is written whatever the
    locale says.
    """
    if str(path) == "-":
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:
            yield sys.stdout
            return
        sys.stdout.flush()
        wrapper = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
        try:
            yield wrapper
        finally:
            # The reader may have left (``| head``); the caller reports it.
            with suppress(BrokenPipeError):
                wrapper.flush()
            wrapper.detach()
        return
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        yield handle


def write_ndjson(items: Iterable[Item], out: TextIO, *, truth_only: bool = False) -> int:
    """Write items as NDJSON; return how many were written."""
    count = 0
    batch: list[str] = []
    for item in items:
        batch.append(_dumps(item["truth"] if truth_only else item))
        count += 1
        if len(batch) >= _BATCH:
            batch.append("")
            out.write("\n".join(batch))
            batch.clear()
    if batch:
        batch.append("")
        out.write("\n".join(batch))
    return count


def _truth_cells(truth: Truth) -> list[str]:
    cells: list[str] = []
    fields = cast(dict[str, Any], truth)
    for column in TRUTH_COLUMNS:
        value = fields[column]
        if column in _LIST_FIELDS:
            cells.append(";".join(value))
        elif value is None:
            cells.append("")
        elif isinstance(value, bool):
            cells.append("true" if value else "false")
        else:
            cells.append(str(value))
    return cells


def write_csv(items: Iterable[Item], out: TextIO, *, truth_only: bool = False) -> int:
    """Write items as CSV (header first); return how many were written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TRUTH_COLUMNS if truth_only else CSV_COLUMNS)
    count = 0
    for item in items:
        row = _truth_cells(item["truth"])
        if not truth_only:
            row.append(_dumps(item["record"]))
        writer.writerow(row)
        count += 1
    return count


def write_survey_csv(rows: Iterable[SurveyRow], out: TextIO) -> int:
    """Write survey rows as CSV (header first); return how many were written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SURVEY_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row.as_csv_row())
        count += 1
    return count


def read_ndjson(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Read back NDJSON written by :func:`write_ndjson` (items, or truths)."""
    for line in lines:
        if line.strip():
            yield cast(dict[str, Any], json.loads(line))


def _parse_truth(row: dict[str, str]) -> Truth:
    truth: dict[str, Any] = {}
    for column in TRUTH_COLUMNS:
        text = row[column]
        value: Any
        if column in _LIST_FIELDS:
            value = text.split(";") if text else []
        elif column == "malformed":
            value = text == "true"
        elif column == "phase":
            value = None if not text else (int(text) if text.isdigit() else text)
        elif column in _OPTIONAL_FIELDS:
            value = text or None
        else:
            value = text
        truth[column] = value
    return cast(Truth, truth)


def read_csv(handle: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Read back a CSV written by :func:`write_csv`: items, or truths if truth-only."""
    reader = csv.DictReader(handle)
    has_record = "record" in (reader.fieldnames or ())
    for row in reader:
        truth = _parse_truth(row)
        if has_record:
            yield {"record": json.loads(row["record"]), "truth": truth}
        else:
            yield dict(truth)

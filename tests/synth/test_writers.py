"""NDJSON and CSV writers round-trip; the survey CSV has its columns."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from hotich_local.synth import GenerationConfig, Item, generate, survey_rows
from hotich_local.synth.survey import SURVEY_COLUMNS
from hotich_local.synth.writers import (
    TRUTH_COLUMNS,
    open_output,
    read_csv,
    read_ndjson,
    write_csv,
    write_ndjson,
    write_survey_csv,
)


@pytest.fixture(scope="module")
def items() -> list[Item]:
    # Enough items for every noise kind, malformed and NFD names included.
    return list(generate(GenerationConfig(seed=21, total=6_000, province_level=120)))


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_ndjson_round_trips(items: list[Item], tmp_path: Path) -> None:
    path = tmp_path / "items.ndjson"
    with open_output(path) as handle:
        assert write_ndjson(items, handle) == len(items)
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") == len(items)
    assert "Nguyễn" in text  # UTF-8 as written, not \u escapes
    with path.open(encoding="utf-8") as handle:
        assert list(read_ndjson(handle)) == _plain(items)


def test_csv_round_trips(items: list[Item], tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    with open_output(path) as handle:
        assert write_csv(items, handle) == len(items)
    with path.open(encoding="utf-8", newline="") as handle:
        back = list(read_csv(handle))
    assert back == _plain(items)
    assert any(i["truth"]["phase"] == "migration" for i in back)
    assert any(isinstance(i["truth"]["phase"], int) for i in back)


@pytest.mark.parametrize("writer", [write_ndjson, write_csv])
def test_truth_only_writes_the_truth(items: list[Item], writer: Any) -> None:
    out = io.StringIO()
    writer(items, out, truth_only=True)
    out.seek(0)
    back = list(read_csv(out) if writer is write_csv else read_ndjson(out))
    assert back == [_plain(i["truth"]) for i in items]
    assert "registration_date" not in out.getvalue()  # no record fields at all


def test_survey_csv_has_a_row_per_book(tmp_path: Path) -> None:
    config = GenerationConfig(seed=21, total=2_000, province_level=40)
    rows = list(survey_rows(config))
    path = tmp_path / "survey.csv"
    with open_output(path) as handle:
        assert write_survey_csv(rows, handle) == len(rows)
    with path.open(encoding="utf-8", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert tuple(read[0]) == SURVEY_COLUMNS
    assert [r["book_id"] for r in read] == [row.book_id for row in rows]
    assert sum(int(r["entries"]) for r in read) == sum(row.entries for row in rows)
    assert {r["registering_authority_known"] for r in read} <= {"true", "false"}


def test_columns_are_stable() -> None:
    assert TRUTH_COLUMNS[0] == "id"
    assert "entering_unit_code" in TRUTH_COLUMNS
    assert "duplicate_of" in TRUTH_COLUMNS

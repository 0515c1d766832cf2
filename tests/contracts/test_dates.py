from __future__ import annotations

import copy
import pickle
from datetime import date, datetime

import pytest
from pydantic import BaseModel, ValidationError

from hotich_contracts.dates import PARTIAL_DATE_PATTERN, DatePrecision, PartialDate


class Holder(BaseModel):
    when: PartialDate
    maybe: PartialDate | None = None


@pytest.mark.parametrize(
    ("text", "precision", "month", "day"),
    [
        ("1952", DatePrecision.YEAR, None, None),
        ("1975-04", DatePrecision.MONTH, 4, None),
        ("2010-03-15", DatePrecision.DAY, 3, 15),
    ],
)
def test_parse_keeps_precision_and_round_trips(
    text: str, precision: DatePrecision, month: int | None, day: int | None
) -> None:
    value = PartialDate.parse(text)
    assert value.year == int(text[:4])
    assert value.month == month
    assert value.day == day
    assert value.precision is precision
    assert str(value) == text
    assert PartialDate.parse(str(value)) == value


def test_canonical_text_pads_year_month_and_day() -> None:
    assert str(PartialDate(987, 1, 2)) == "0987-01-02"
    assert repr(PartialDate(2010, 3)) == "PartialDate('2010-03')"


@pytest.mark.parametrize(
    "text",
    [
        "2019-02-30",
        "2019-13",
        "2019-00",
        "2010-04-31",
        "0000",
        "19",
        "1975-4",
        "1975-04-5",
        "1975/04/05",
        "05.06.2012",
        "2010-03-15T00:00",
        "",
        "abcd",
        "１９７５",
    ],
)
def test_invalid_text_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        PartialDate.parse(text)


def test_leap_day_only_in_leap_years() -> None:
    assert PartialDate.parse("2012-02-29").day == 29
    with pytest.raises(ValueError, match="does not exist"):
        PartialDate.parse("2011-02-29")


def test_constructor_rejects_day_without_month() -> None:
    with pytest.raises(ValueError, match="needs a month"):
        PartialDate(2010, None, 5)


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("1952", date(1952, 1, 1), date(1952, 12, 31)),
        ("2012-02", date(2012, 2, 1), date(2012, 2, 29)),
        ("2011-02", date(2011, 2, 1), date(2011, 2, 28)),
        ("2010-03-15", date(2010, 3, 15), date(2010, 3, 15)),
    ],
)
def test_earliest_and_latest(text: str, earliest: date, latest: date) -> None:
    value = PartialDate.parse(text)
    assert value.earliest() == earliest
    assert value.latest() == latest
    assert value.contains(earliest)
    assert value.contains(latest)
    assert not value.contains(date(1900, 1, 1))


def test_to_date_only_for_full_dates() -> None:
    assert PartialDate.parse("2010-03-15").to_date() == date(2010, 3, 15)
    with pytest.raises(ValueError, match="not a full date"):
        PartialDate.parse("2010-03").to_date()


def test_equality_is_exact_and_hash_consistent() -> None:
    assert PartialDate.parse("1975") == PartialDate(1975)
    assert PartialDate.parse("1975") != PartialDate.parse("1975-01")
    assert PartialDate.parse("1975-01") != PartialDate.parse("1975-01-01")
    assert len({PartialDate(1975), PartialDate.parse("1975"), PartialDate(1975, 1)}) == 2
    assert PartialDate(2010, 3, 15) != date(2010, 3, 15)


def test_ordering_is_chronological_with_coarser_first() -> None:
    values = [PartialDate.parse(t) for t in ["1976", "1975-01-01", "1975-01", "1975", "1974-12-31"]]
    assert [str(v) for v in sorted(values)] == [
        "1974-12-31",
        "1975",
        "1975-01",
        "1975-01-01",
        "1976",
    ]
    assert PartialDate(1975) < PartialDate(1975, 1) <= PartialDate(1975, 1)
    assert PartialDate(1976) > PartialDate(1975, 12, 31) >= PartialDate(1975, 12, 31)
    with pytest.raises(TypeError):
        _ = PartialDate(1975) < date(1975, 1, 1)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1975", "1975-04-30", True),
        ("1975-04", "1975-04-30", True),
        ("1975-04", "1975-05-01", False),
        ("1975", "1976", False),
        ("1975-04-30", "1975-04-30", True),
        ("1975-04-30", "1975-04-29", False),
        ("1975-04", "1975", True),
    ],
)
def test_may_equal_compares_at_coarser_precision(left: str, right: str, expected: bool) -> None:
    a, b = PartialDate.parse(left), PartialDate.parse(right)
    assert a.may_equal(b) is expected
    assert b.may_equal(a) is expected


def test_may_equal_accepts_a_date() -> None:
    assert PartialDate(1975, 4).may_equal(date(1975, 4, 30))
    assert not PartialDate(1975, 5).may_equal(date(1975, 4, 30))


def test_immutable_and_picklable() -> None:
    value = PartialDate(1975, 4)
    with pytest.raises(AttributeError):
        value.year = 1976  # type: ignore[misc]
    with pytest.raises(AttributeError):
        value._month = 5  # noqa: SLF001
    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.deepcopy(value) == value


def test_pydantic_field_validates_text_date_and_instance() -> None:
    assert Holder.model_validate({"when": "1975"}).when == PartialDate(1975)
    assert Holder.model_validate({"when": date(2010, 3, 15)}).when.precision is DatePrecision.DAY
    assert Holder.model_validate({"when": PartialDate(1975, 4)}).when == PartialDate(1975, 4)
    assert Holder.model_validate_json('{"when": " 1975-04 "}').when == PartialDate(1975, 4)


def test_pydantic_serializes_text_in_json_and_keeps_value_in_python() -> None:
    holder = Holder(when=PartialDate(1975, 4))
    assert holder.model_dump(mode="json") == {"when": "1975-04", "maybe": None}
    assert holder.model_dump_json() == '{"when":"1975-04","maybe":null}'
    assert holder.model_dump()["when"] == PartialDate(1975, 4)
    assert Holder.model_validate_json(holder.model_dump_json()) == holder


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("2019-02-30", "partial_date_invalid"),
        ("2019-13", "partial_date_invalid"),
        ("1975-4", "partial_date_format"),
        ("15/03/2010", "partial_date_format"),
        (1975, "partial_date_type"),
        (datetime(2010, 3, 15, 8, 0), "partial_date_type"),
        (None, "partial_date_type"),
    ],
)
def test_pydantic_errors_carry_type_and_location(value: object, error_type: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Holder.model_validate({"when": value})
    (error,) = caught.value.errors()
    assert error["type"] == error_type
    assert error["loc"] == ("when",)


def test_json_schema_is_a_string_with_pattern_and_description() -> None:
    schema = Holder.model_json_schema()["properties"]["when"]
    assert schema["type"] == "string"
    assert schema["pattern"] == PARTIAL_DATE_PATTERN
    assert "YYYY-MM" in schema["description"]

"""The administrative unit table and the registry that loads it."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from hotich_contracts.units import (
    Unit,
    UnitKind,
    UnitLevel,
    UnitRegistry,
    UnknownUnitError,
    default_registry,
)

PROGRAMME_START = date(2019, 11, 15)
AFTER_2020_CHANGES = date(2020, 6, 1)
AFTER_2025_REFORM = date(2025, 7, 1)

DISTRICTS_2019 = {"703", "705", "706", "707", "708", "709", "710", "711", "712"}
# Communes per district in the research brief's table (§3).
COMMUNES_PER_DISTRICT_2019 = {
    "703": 10,
    "705": 10,
    "706": 12,
    "707": 11,
    "708": 15,
    "709": 8,
    "710": 9,
    "711": 9,
    "712": 11,
}

HEADER = "code,name,level,kind,parent_code,valid_from,valid_to,successor_codes,note\n"


@pytest.fixture(scope="module")
def registry() -> UnitRegistry:
    return default_registry()


def _csv_text() -> str:
    return (resources.files("hotich_contracts") / "data" / "units_tay_ninh.csv").read_text(
        encoding="utf-8"
    )


# -- the data ---------------------------------------------------------------------------


def test_file_is_nfc_with_the_documented_columns() -> None:
    text = _csv_text()
    assert unicodedata.is_normalized("NFC", text)
    assert text.startswith(HEADER)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(row["level"] in {"province", "district", "commune"} for row in rows)


def test_2019_has_9_districts_and_95_communes(registry: UnitRegistry) -> None:
    districts = registry.children("72", PROGRAMME_START)
    assert {u.code for u in districts} == DISTRICTS_2019
    communes = [
        u for u in registry.descendants("72", PROGRAMME_START) if u.level is UnitLevel.COMMUNE
    ]
    assert len(communes) == 95
    assert Counter(u.kind for u in communes) == {
        UnitKind.PHUONG: 7,
        UnitKind.THI_TRAN: 8,
        UnitKind.XA: 80,
    }
    per_district = Counter(u.parent_code for u in communes)
    assert per_district == COMMUNES_PER_DISTRICT_2019


def test_2019_commune_codes_are_the_gso_sequence(registry: UnitRegistry) -> None:
    # GSO numbers Tây Ninh's communes 25456, 25459, ... 25738 in steps of 3.
    communes = registry.descendants("72", PROGRAMME_START)
    codes = sorted(int(u.code) for u in communes if u.level is UnitLevel.COMMUNE)
    assert codes == list(range(25456, 25739, 3))


def test_2019_district_kinds(registry: UnitRegistry) -> None:
    kinds = {u.code: u.kind for u in registry.children("72", PROGRAMME_START)}
    assert kinds.pop("703") is UnitKind.THANH_PHO
    assert set(kinds.values()) == {UnitKind.HUYEN}


def test_after_2020_there_are_94_communes(registry: UnitRegistry) -> None:
    communes = [
        u for u in registry.descendants("72", AFTER_2020_CHANGES) if u.level is UnitLevel.COMMUNE
    ]
    assert len(communes) == 94
    assert Counter(u.kind for u in communes) == {
        UnitKind.PHUONG: 17,
        UnitKind.THI_TRAN: 6,
        UnitKind.XA: 71,
    }
    assert registry.require("709", AFTER_2020_CHANGES).kind is UnitKind.THI_XA
    assert registry.require("712", AFTER_2020_CHANGES).kind is UnitKind.THI_XA


def test_town_to_ward_keeps_the_code(registry: UnitRegistry) -> None:
    before = registry.require("25630", date(2020, 1, 31))
    after = registry.require("25630", date(2020, 2, 1))
    assert (before.name, before.kind) == ("Thị trấn Hòa Thành", UnitKind.THI_TRAN)
    assert (after.name, after.kind) == ("Phường Long Hoa", UnitKind.PHUONG)
    assert [v.name for v in registry.versions("25630")] == [before.name, after.name]
    assert registry.get("25630") == after  # no date: the latest version


def test_merger_of_phuoc_luu_into_phuoc_binh(registry: UnitRegistry) -> None:
    assert registry.valid_on("25726", date(2020, 1, 31))
    assert not registry.valid_on("25726", date(2020, 2, 1))
    assert registry.require("25726").successor_codes == ("25729",)
    assert registry.require("25729", date(2010, 1, 1)).name == "Xã Bình Thạnh"
    assert registry.require("25729", AFTER_2020_CHANGES).name == "Xã Phước Bình"
    assert [u.code for u in registry.successors_on("25726", AFTER_2020_CHANGES)] == ["25729"]
    # Before the merger the unit carries itself on.
    assert [u.code for u in registry.successors_on("25726", date(2019, 12, 1))] == ["25726"]


def test_2025_reform(registry: UnitRegistry) -> None:
    assert registry.valid_on("72", date(2025, 6, 30))
    assert not registry.valid_on("72", AFTER_2025_REFORM)
    assert registry.require("72").successor_codes == ("80",)
    new = registry.require("80", AFTER_2025_REFORM)
    assert new.name == "Tỉnh Tây Ninh"
    assert registry.require("80", PROGRAMME_START).name == "Tỉnh Long An"
    assert not registry.valid_on("703", AFTER_2025_REFORM)
    assert not registry.valid_on("25456", AFTER_2025_REFORM)
    assert [u.code for u in registry.successors_on("72", AFTER_2025_REFORM)] == ["80"]
    assert registry.children("72", AFTER_2025_REFORM) == ()


def test_split_communes_of_2025_are_noted(registry: UnitRegistry) -> None:
    split = {u.code for u in registry.all() if "split between several new communes" in u.note}
    assert split == {
        "25597",  # Thái Bình
        "25555",  # Suối Đá
        "25558",  # Phan
        "25570",  # Chà Là
        "25507",  # Tân Phong
        "25510",  # Mỏ Công
        "25513",  # Trà Vong
        "25534",  # Suối Dây
        "25546",  # Tân Phú
        "25564",  # Phước Minh
    }


# -- lookups --------------------------------------------------------------------------


def test_get_and_require(registry: UnitRegistry) -> None:
    unit = registry.get("25486")
    assert unit is not None
    assert (unit.name, unit.level, unit.parent_code) == (
        "Thị trấn Tân Biên",
        UnitLevel.COMMUNE,
        "705",
    )
    assert registry.get("99999") is None
    assert "25486" in registry
    assert "99999" not in registry
    with pytest.raises(UnknownUnitError) as caught:
        registry.require("99999")
    assert caught.value.code == "99999"
    with pytest.raises(UnknownUnitError):
        registry.require("25726", AFTER_2020_CHANGES)


def test_hierarchy(registry: UnitRegistry) -> None:
    parent = registry.parent("25486")
    assert parent is not None
    assert parent.code == "705"
    assert registry.parent("72") is None
    assert [u.code for u in registry.ancestors("25486")] == ["705", "72"]
    assert registry.ancestors("72") == ()
    assert registry.ancestors("99999") == ()


def test_district_and_province_of(registry: UnitRegistry) -> None:
    district = registry.district_of("25630")
    assert district is not None
    assert district.code == "709"
    itself = registry.district_of("709")
    assert itself is not None
    assert itself.code == "709"
    assert registry.district_of("72") is None
    assert registry.district_of("99999") is None
    province = registry.province_of("25630")
    assert province is not None
    assert province.code == "72"
    province = registry.province_of("72")
    assert province is not None
    assert province.code == "72"
    assert registry.province_of("99999") is None


def test_children_and_descendants(registry: UnitRegistry) -> None:
    children = registry.children("703")
    assert [u.code for u in children] == sorted(u.code for u in children)
    assert len(children) == 10
    assert registry.children("25456") == ()
    # Without a date every code appears once, defunct Phước Lưu included.
    below = registry.descendants("72")
    assert len(below) == 9 + 95
    assert "25726" in {u.code for u in below}
    assert len(registry.descendants("712", AFTER_2020_CHANGES)) == 10
    # Depth first: a district is followed by its communes.
    codes = [u.code for u in below]
    assert codes[codes.index("705") + 1] == "25486"


def test_is_within(registry: UnitRegistry) -> None:
    assert registry.is_within("25486", "705")
    assert registry.is_within("25486", "72")
    assert registry.is_within("705", "705")
    assert not registry.is_within("25486", "703")
    assert not registry.is_within("705", "25486")
    assert not registry.is_within("99999", "72")


def test_all_lists_top_down(registry: UnitRegistry) -> None:
    units = registry.all()
    assert len(units) == len(registry) == 2 + 9 + 95
    assert [u.level for u in units[:2]] == [UnitLevel.PROVINCE, UnitLevel.PROVINCE]
    assert len(registry.all(PROGRAMME_START)) == 2 + 9 + 95
    assert len(registry.all(AFTER_2025_REFORM)) == 1


def test_same_names_are_told_apart_by_path(registry: UnitRegistry) -> None:
    assert registry.require("25474").name == registry.require("25495").name == "Xã Tân Bình"
    assert registry.path_name("25474") == "Xã Tân Bình, Thành phố Tây Ninh, Tỉnh Tây Ninh"
    assert registry.path_name("25495") == "Xã Tân Bình, Huyện Tân Biên, Tỉnh Tây Ninh"
    assert registry.path_name("99999") == "99999"


def test_default_registry_is_loaded_once() -> None:
    assert default_registry() is default_registry()


def test_unit_validity_is_inclusive() -> None:
    unit = Unit(
        code="25726",
        name="Xã Phước Lưu",
        level=UnitLevel.COMMUNE,
        kind=UnitKind.XA,
        parent_code="712",
        valid_to=date(2020, 1, 31),
    )
    assert unit.valid_on(date(1990, 1, 1))
    assert unit.valid_on(date(2020, 1, 31))
    assert not unit.valid_on(date(2020, 2, 1))


def test_names_are_normalized_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Xã Tân Bình")
    unit = Unit.model_validate(
        {
            "code": "25474",
            "name": decomposed,
            "level": "commune",
            "kind": "xa",
            "parent_code": "703",
        }
    )
    assert unit.name == "Xã Tân Bình"


# -- loading other tables ---------------------------------------------------------------


def test_from_csv_reads_a_path(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(
        HEADER + "01,Thành phố Hà Nội,province,thanh_pho,,,,,\n"
        "001,Quận Ba Đình,district,quan,01,,,,\n"
        "00001,Phường Phúc Xá,commune,phuong,001,,,,\n",
        encoding="utf-8",
    )
    for source in (path, str(path)):
        registry = UnitRegistry.from_csv(source)
        assert [u.code for u in registry.ancestors("00001")] == ["001", "01"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("72,Tỉnh Tây Ninh,province,xa,,,,,\n", "not a province kind"),
        ("705,Huyện Tân Biên,district,huyen,72,,,,\n", "parent 72 is unknown"),
        (
            "72,Tỉnh Tây Ninh,province,tinh,,,,,\n25486,Thị trấn Tân Biên,commune,thi_tran,72,,,,\n"
            "705,Huyện Tân Biên,district,huyen,25486,,,,\n",
            "not above it",
        ),
        (
            "72,Tỉnh Tây Ninh,province,tinh,,,,,\n72,Tỉnh Tây Ninh,province,tinh,,2019-01-01,,,\n",
            "overlap",
        ),
        ("72,Tỉnh Tây Ninh,province,tinh,,,,99,\n", "successor 99 is unknown"),
        ("72,Tỉnh Tây Ninh,province,tinh,,2020-01-01,2019-01-01,,\n", "valid_to is before"),
        ("72,Tỉnh Tây Ninh,provinz,tinh,,,,,\n", "line 2"),
    ],
)
def test_inconsistent_tables_are_refused(rows: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UnitRegistry.from_csv_text(HEADER + rows)


def test_missing_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        UnitRegistry.from_csv_text("code,name\n72,Tỉnh Tây Ninh\n")

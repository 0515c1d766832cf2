"""Who enters a register entry: principles 1 and 2 as domain.md interprets them."""

from __future__ import annotations

from datetime import date

import pytest

from hotich_contracts.reasons import ReasonCode
from hotich_contracts.units import UnitRegistry, default_registry
from hotich_validation.domain.entering_unit import check_entering_unit
from hotich_validation.domain.phases import RuleReason

DEPARTMENT = "72"
TAN_BIEN = "705"
TT_TAN_BIEN = "25486"
TAN_LAP = "25489"  # another commune of Tân Biên
TRANG_BANG = "712"
PHUOC_LUU = "25726"  # merged into Phước Bình on 2020-02-01
PHUOC_BINH = "25729"  # was Bình Thạnh; kept its code

ENTERED = date(2020, 3, 1)  # after the 2020 merger
BEFORE_MERGER = date(2020, 1, 15)
REGISTERED = date(2010, 4, 5)


@pytest.fixture(scope="module")
def registry() -> UnitRegistry:
    return default_registry()


def check(
    registry: UnitRegistry,
    *,
    clerk: str,
    authority: str | None,
    storing: str,
    registered: date = REGISTERED,
    entered: date = ENTERED,
) -> list[RuleReason]:
    return check_entering_unit(
        clerk_unit=clerk,
        registering_authority_code=authority,
        storing_unit_code=storing,
        registration_date=registered,
        entered_on=entered,
        registry=registry,
    )


def codes(reasons: list[RuleReason]) -> list[str]:
    return [r.code for r in reasons]


# -- principle 1: the registering level enters ----------------------------------------------


@pytest.mark.parametrize(
    ("clerk", "storing"),
    [
        (TT_TAN_BIEN, TT_TAN_BIEN),  # the commune's own register
        (TT_TAN_BIEN, TAN_BIEN),  # the commune enters even if the book sits at the district
    ],
)
def test_commune_enters_its_own_registrations(
    registry: UnitRegistry, clerk: str, storing: str
) -> None:
    assert check(registry, clerk=clerk, authority=TT_TAN_BIEN, storing=storing) == []


@pytest.mark.parametrize("storing", [TAN_BIEN, TT_TAN_BIEN])
def test_district_may_not_enter_a_commune_registration(
    registry: UnitRegistry, storing: str
) -> None:
    reasons = check(registry, clerk=TAN_BIEN, authority=TT_TAN_BIEN, storing=storing)
    assert codes(reasons) == [ReasonCode.WRONG_ENTERING_UNIT]
    assert "must be entered by the commune" in reasons[0].detail_en
    assert "cấp xã" in reasons[0].detail_vi
    assert "Thị trấn Tân Biên" in reasons[0].detail_vi


def test_department_may_not_enter_a_commune_registration(registry: UnitRegistry) -> None:
    reasons = check(registry, clerk=DEPARTMENT, authority=TT_TAN_BIEN, storing=TT_TAN_BIEN)
    assert codes(reasons) == [ReasonCode.WRONG_ENTERING_UNIT]
    assert "must be entered by the commune" in reasons[0].detail_en


def test_another_commune_may_not_enter_it(registry: UnitRegistry) -> None:
    reasons = check(registry, clerk=TAN_LAP, authority=TT_TAN_BIEN, storing=TT_TAN_BIEN)
    assert codes(reasons) == [ReasonCode.WRONG_ENTERING_UNIT]


@pytest.mark.parametrize(("level_unit"), [TAN_BIEN, DEPARTMENT])
def test_district_and_department_enter_their_own(registry: UnitRegistry, level_unit: str) -> None:
    assert check(registry, clerk=level_unit, authority=level_unit, storing=level_unit) == []


@pytest.mark.parametrize(
    ("clerk", "authority"),
    [(TT_TAN_BIEN, TAN_BIEN), (TAN_BIEN, DEPARTMENT), (TRANG_BANG, TAN_BIEN)],
)
def test_others_may_not_enter_a_district_or_department_registration(
    registry: UnitRegistry, clerk: str, authority: str
) -> None:
    reasons = check(registry, clerk=clerk, authority=authority, storing=authority)
    assert codes(reasons) == [ReasonCode.WRONG_ENTERING_UNIT]
    assert "the unit that registered it" in reasons[0].detail_en
    assert "cấp nào đăng ký thì cấp đó nhập" in reasons[0].detail_vi


# -- principle 2: unknown or defunct authority, the storing unit enters ---------------------


def test_unknown_authority_is_entered_by_the_storing_unit(registry: UnitRegistry) -> None:
    assert check(registry, clerk=TAN_BIEN, authority=None, storing=TAN_BIEN) == []
    reasons = check(registry, clerk=TT_TAN_BIEN, authority=None, storing=TAN_BIEN)
    assert codes(reasons) == [ReasonCode.WRONG_ENTERING_UNIT]
    assert "registering authority is unknown" in reasons[0].detail_en
    assert "Huyện Tân Biên" in reasons[0].detail_vi
    assert "(705)" in reasons[0].detail_en


def test_defunct_authority_is_entered_by_the_storing_unit(registry: UnitRegistry) -> None:
    # Phước Lưu's registers are now kept by Phước Bình, which enters them.
    assert check(registry, clerk=PHUOC_BINH, authority=PHUOC_LUU, storing=PHUOC_BINH) == []
    for clerk in (PHUOC_LUU, TRANG_BANG):
        reasons = check(registry, clerk=clerk, authority=PHUOC_LUU, storing=PHUOC_BINH)
        assert codes(reasons) == [ReasonCode.WRONG_ENTERING_UNIT]
        assert "no longer exists on 01/03/2020" in reasons[0].detail_en
        assert "Xã Phước Bình" in reasons[0].detail_vi


def test_defunct_authority_keeps_principle_1_before_it_ended(registry: UnitRegistry) -> None:
    assert (
        check(
            registry, clerk=PHUOC_LUU, authority=PHUOC_LUU, storing=PHUOC_LUU, entered=BEFORE_MERGER
        )
        == []
    )
    reasons = check(
        registry, clerk=PHUOC_BINH, authority=PHUOC_LUU, storing=PHUOC_BINH, entered=BEFORE_MERGER
    )
    assert codes(reasons) == [ReasonCode.WRONG_ENTERING_UNIT]
    assert "Xã Phước Lưu" in reasons[0].detail_vi


def test_unit_that_kept_its_code_through_a_merger_is_still_the_authority(
    registry: UnitRegistry,
) -> None:
    # Bình Thạnh (25729) became Phước Bình with the same code: its clerk enters its books.
    assert check(registry, clerk=PHUOC_BINH, authority=PHUOC_BINH, storing=PHUOC_BINH) == []


def test_defunct_storing_unit_passes_to_its_successor(registry: UnitRegistry) -> None:
    assert check(registry, clerk=PHUOC_BINH, authority=None, storing=PHUOC_LUU) == []
    reasons = check(registry, clerk=PHUOC_LUU, authority=None, storing=PHUOC_LUU)
    assert codes(reasons) == [ReasonCode.WRONG_ENTERING_UNIT]
    assert "(25729)" in reasons[0].detail_en


def test_storing_unit_gone_without_successor(registry: UnitRegistry) -> None:
    # After the 2025 reform the 2019 districts have ended and the data gives no successor:
    # the unit's own clerk keeps entering what it stores; another unit may not.
    own = check(
        registry, clerk=TAN_BIEN, authority=None, storing=TAN_BIEN, entered=date(2025, 8, 1)
    )
    assert own == []
    other = check(registry, clerk="703", authority=None, storing=TAN_BIEN, entered=date(2025, 8, 1))
    assert codes(other) == [ReasonCode.WRONG_ENTERING_UNIT]
    assert "has no successor" in other[0].detail_en


# -- unknown units --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clerk", "authority", "storing", "unknown"),
    [
        ("99999", TT_TAN_BIEN, TT_TAN_BIEN, "99999"),
        (TT_TAN_BIEN, "12345", TT_TAN_BIEN, "12345"),
        (TT_TAN_BIEN, None, "abc", "abc"),
    ],
)
def test_unknown_codes(
    registry: UnitRegistry, clerk: str, authority: str | None, storing: str, unknown: str
) -> None:
    reasons = check(registry, clerk=clerk, authority=authority, storing=storing)
    assert codes(reasons) == [ReasonCode.UNKNOWN_UNIT]
    assert unknown in reasons[0].detail_vi
    assert unknown in reasons[0].detail_en


def test_every_unknown_code_is_reported(registry: UnitRegistry) -> None:
    reasons = check(registry, clerk="1", authority="2", storing="3")
    assert codes(reasons) == [ReasonCode.UNKNOWN_UNIT] * 3
    roles = ["clerk's unit code '1'", "registering authority code '2'", "storing unit code '3'"]
    assert all(role in r.detail_en for role, r in zip(roles, reasons, strict=True))


def test_authority_must_exist_on_the_registrationdate() -> None:
    registry = UnitRegistry.from_csv_text(
        "code,name,level,kind,parent_code,valid_from,valid_to,successor_codes,note\n"
        "72,Tỉnh Tây Ninh,province,tinh,,,,,\n"
        "705,Huyện Tân Biên,district,huyen,72,,,,\n"
        "25999,Xã Mới,commune,xa,705,2018-01-01,,,\n"
    )
    reasons = check_entering_unit(
        clerk_unit="25999",
        registering_authority_code="25999",
        storing_unit_code="25999",
        registration_date=date(2010, 1, 1),
        entered_on=ENTERED,
        registry=registry,
    )
    assert codes(reasons) == [ReasonCode.UNKNOWN_UNIT]
    assert "did not exist on the registration date 01/01/2010" in reasons[0].detail_en
    assert "chưa tồn tại" in reasons[0].detail_vi


def test_own_unit_enters_its_registers_even_after_the_2025_reform_ended_it() -> None:
    reasons = check_entering_unit(
        clerk_unit="25459",
        registering_authority_code="25459",
        storing_unit_code="25459",
        registration_date=date(2010, 3, 15),
        entered_on=date(2026, 11, 24),
        registry=default_registry(),
    )
    assert reasons == []


def test_storing_unit_enters_an_unknown_authoritys_register_after_the_reform() -> None:
    reasons = check_entering_unit(
        clerk_unit="25459",
        registering_authority_code=None,
        storing_unit_code="25459",
        registration_date=date(2010, 3, 15),
        entered_on=date(2026, 11, 24),
        registry=default_registry(),
    )
    assert reasons == []

"""Who may enter a register entry: principles 1 and 2 of the plan (Section II).

1. The level that registered an event enters it ("cấp nào đăng ký thì cấp đó ...
   số hóa"); a register kept at two levels is entered by the commune.
2. Where the registering body cannot be determined, or no longer exists after a split
   or merger, the unit that stores the register enters it.

Interpretation (domain.md): the clerk's unit must be the registering authority; if
the authority is unknown (null) or no longer exists on the entry date, the clerk's
unit must be the storing unit. Pure rules: the registry comes in as a value.
"""

from __future__ import annotations

from datetime import date

from hotich_contracts.reasons import ReasonCode
from hotich_contracts.units import Unit, UnitLevel, UnitRegistry
from hotich_validation.domain.phases import RuleReason

__all__ = ["check_entering_unit"]


def _vn(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def check_entering_unit(
    *,
    clerk_unit: str,
    registering_authority_code: str | None,
    storing_unit_code: str,
    registration_date: date,
    entered_on: date,
    registry: UnitRegistry,
) -> list[RuleReason]:
    """Check that the clerk's unit is the one that must enter this register entry.

    Args:
        clerk_unit: unit code of the authenticated clerk.
        registering_authority_code: unit that registered the event; None when the
            register does not tell (principle 2).
        storing_unit_code: unit that keeps the register now.
        registration_date: the event's registration date; the authority must have
            existed then.
        entered_on: the day of entry; an authority defunct by then falls under
            principle 2.
        registry: the administrative units, with their history.

    Returns:
        An empty list when the clerk's unit may enter it, else ``unknown_unit`` or
        ``wrong_entering_unit`` reasons.
    """
    unknown = [
        _unknown(role_vi, role_en, code, field)
        for role_vi, role_en, code, field in (
            ("đơn vị của cán bộ nhập", "clerk's unit", clerk_unit, None),
            (
                "cơ quan đăng ký",
                "registering authority",
                registering_authority_code,
                "registering_authority_code",
            ),
            ("đơn vị lưu sổ", "storing unit", storing_unit_code, "storing_unit_code"),
        )
        if code is not None and code not in registry
    ]
    if unknown:
        return unknown

    if registering_authority_code is not None:
        authority = registry.get(registering_authority_code, registration_date)
        if authority is None:
            return [_not_existing_then(registering_authority_code, registration_date, registry)]
        if registry.valid_on(registering_authority_code, entered_on) or (
            clerk_unit == authority.code
            and not registry.successors_on(registering_authority_code, entered_on)
        ):
            # A unit ended with no known successor (the 2025 reform, whose new codes the
            # registry does not hold) keeps entering its own registers: refusing would
            # leave nobody allowed to enter them.
            return _principle_1(clerk_unit, authority, registration_date, registry)
    return _principle_2(
        clerk_unit, registering_authority_code, storing_unit_code, entered_on, registry
    )


def _principle_1(
    clerk_unit: str, authority: Unit, registration_date: date, registry: UnitRegistry
) -> list[RuleReason]:
    if clerk_unit == authority.code:
        return []
    where = registry.path_name(authority.code, registration_date)
    if authority.level is UnitLevel.COMMUNE:
        # The usual case is a district holding its copy of a commune register: the
        # commune enters it, once, so the district copy must not produce a second record.
        return [
            RuleReason(
                code=ReasonCode.WRONG_ENTERING_UNIT,
                field="registering_authority_code",
                detail_vi=f"Việc hộ tịch do UBND {where} ({authority.code}) đăng ký phải do cấp "
                "xã đó nhập, kể cả khi sổ được lưu tại cả cấp xã và cấp huyện.",
                detail_en=f"Registered by the commune {where} ({authority.code}): must be entered "
                "by the commune, even when the register is kept at both commune and district.",
            )
        ]
    return [
        RuleReason(
            code=ReasonCode.WRONG_ENTERING_UNIT,
            field="registering_authority_code",
            detail_vi=f"Việc hộ tịch do {where} ({authority.code}) đăng ký; cấp nào đăng ký thì "
            "cấp đó nhập.",
            detail_en=f"Registered by {where} ({authority.code}): must be entered by the unit "
            "that registered it.",
        )
    ]


def _principle_2(
    clerk_unit: str,
    authority_code: str | None,
    storing_unit_code: str,
    entered_on: date,
    registry: UnitRegistry,
) -> list[RuleReason]:
    # If the storing unit itself has since been merged away, its successor now holds
    # the register.
    holders = registry.successors_on(storing_unit_code, entered_on)
    if clerk_unit in {u.code for u in holders} or (not holders and clerk_unit == storing_unit_code):
        return []
    if authority_code is None:
        why_vi = "Không xác định được cơ quan đăng ký"
        why_en = "The registering authority is unknown"
    else:
        why_vi = (
            f"Cơ quan đăng ký {authority_code} không còn tồn tại vào ngày nhập {_vn(entered_on)}"
        )
        why_en = f"Registering authority {authority_code} no longer exists on {_vn(entered_on)}"
    if not holders:
        return [
            RuleReason(
                code=ReasonCode.WRONG_ENTERING_UNIT,
                field="storing_unit_code",
                detail_vi=f"{why_vi}, và đơn vị lưu sổ {storing_unit_code} cũng không còn tồn tại "
                "và không có đơn vị kế thừa: kiểm tra lại đơn vị lưu sổ.",
                detail_en=f"{why_en}, and the storing unit {storing_unit_code} no longer exists "
                "either and has no successor: check the storing unit.",
            )
        ]
    names = "; ".join(f"{registry.path_name(u.code, entered_on)} ({u.code})" for u in holders)
    return [
        RuleReason(
            code=ReasonCode.WRONG_ENTERING_UNIT,
            field="storing_unit_code",
            detail_vi=f"{why_vi}: đơn vị đang lưu sổ hộ tịch nhập dữ liệu ({names}).",
            detail_en=f"{why_en}: the unit storing the register enters it ({names}).",
        )
    ]


def _unknown(role_vi: str, role_en: str, code: str, field: str | None) -> RuleReason:
    return RuleReason(
        code=ReasonCode.UNKNOWN_UNIT,
        field=field,
        detail_vi=f"Mã {role_vi} “{code}” không có trong danh mục đơn vị hành chính.",
        detail_en=f"The {role_en} code {code!r} is not a known administrative unit.",
    )


def _not_existing_then(code: str, registration_date: date, registry: UnitRegistry) -> RuleReason:
    return RuleReason(
        code=ReasonCode.UNKNOWN_UNIT,
        field="registering_authority_code",
        detail_vi=f"Cơ quan đăng ký {registry.path_name(code)} ({code}) chưa tồn tại vào ngày đăng "
        f"ký {_vn(registration_date)}: ghi mã đơn vị đúng tại thời điểm đăng ký, hoặc để trống "
        "mã và ghi tên như trong sổ.",
        detail_en=f"Registering authority {registry.path_name(code)} ({code}) did not exist on the "
        f"registration date {_vn(registration_date)}: give the unit as it was then, or leave the "
        "code empty and write the name as in the register.",
    )

"""Principle 3: every entry carries the mandatory fields of its type, or is not entered.

The table comes in as a value (:class:`hotich_contracts.mandatory.MandatoryFields`, read
from ``mandatory_fields.yaml``); :class:`MandatoryFieldCheck` compiles it once and
applies it to records. Three outcomes per field:

* a mandatory field left empty is a clerk's error: ``missing_mandatory_field``;
* a mandatory field the register does not show (listed in ``unreadable_fields``, itself,
  through a parent, or in part) makes the record **not enterable**: ``not_enterable``,
  counted against the survey, not against the clerk;
* an optional field listed as unreadable is accepted with an ``unreadable_field`` warning.

Pure rules: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from hotich_contracts.mandatory import MandatoryField, MandatoryFields
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.records import RecordBase, RecordType
from hotich_validation.domain.phases import RuleReason

__all__ = ["MandatoryFieldCheck", "is_empty", "value_at"]


def value_at(record: object, segments: Sequence[str]) -> Any:
    """Return the value a path of attribute names leads to, None if a step is absent."""
    current: Any = record
    for segment in segments:
        current = getattr(current, segment, None)
        if current is None:
            return None
    return current


def is_empty(value: Any) -> bool:
    """Whether a value counts as not given: None, empty text, an empty list.

    Record texts are stripped by the contract, so blank text arrives empty.
    """
    return value is None or value == "" or value == []


def _getter(path: str) -> Callable[[object], Any]:
    """A fast reader of a dotted path: None when a step on the way is None."""
    read = attrgetter(path)

    def get(record: object) -> Any:
        try:
            return read(record)
        except AttributeError:  # an optional parent is absent (None)
            return None

    return get


def _related(path: str, other: str) -> bool:
    """Whether one path is the other, or lies under it (either way round)."""
    if path == other:
        return True
    shorter, longer = (path, other) if len(path) < len(other) else (other, path)
    return longer.startswith(shorter) and longer[len(shorter)] == "."


@dataclass(frozen=True, slots=True)
class _Requirement:
    field: MandatoryField
    paths: tuple[tuple[str, Callable[[object], Any]], ...]
    """Each path with its reader: the field's own first, then its alternatives."""
    when: tuple[Callable[[object], Any], frozenset[str]] | None


def _compile(field: MandatoryField) -> _Requirement:
    when = None
    if field.when is not None:
        when = (_getter(field.when.path), field.when.values)
    return _Requirement(
        field=field,
        paths=tuple((path, _getter(path)) for path in field.paths),
        when=when,
    )


class MandatoryFieldCheck:
    """The mandatory-field table, compiled for fast checks of many records."""

    def __init__(self, table: MandatoryFields) -> None:
        """Compile ``table`` (per record type: common fields, then the type's own)."""
        self.table = table
        self._by_type: dict[str, tuple[_Requirement, ...]] = {
            record_type.value: tuple(_compile(f) for f in table.for_type(record_type))
            for record_type in RecordType
        }

    def check(self, record: RecordBase) -> list[RuleReason]:
        """Return every mandatory-field reason of a record, in table order.

        ``not_enterable`` and ``missing_mandatory_field`` (errors, one per field), then
        ``unreadable_field`` warnings for unreadable fields that are not mandatory.
        """
        unreadable = record.unreadable_fields
        requirements = self._by_type[record.record_type.value]
        reasons: list[RuleReason] = []
        if not unreadable:
            # The common case: only emptiness matters.
            for requirement in requirements:
                if requirement.when is not None and not _holds(record, requirement.when):
                    continue
                for _, read in requirement.paths:
                    value = read(record)
                    if not (value is None or value == "" or value == []):
                        break
                else:
                    reasons.append(_missing(requirement.field))
            return reasons

        explained: set[str] = set()
        for requirement in requirements:
            if requirement.when is not None and not _holds(record, requirement.when):
                continue
            blocked = False
            met = False
            for path, read in requirement.paths:
                hidden = [u for u in unreadable if _related(path, u)]
                if hidden:
                    blocked = True
                    explained.update(hidden)
                elif not is_empty(read(record)):
                    met = True
                    break
            if met:
                continue
            reasons.append(
                _not_enterable(requirement.field) if blocked else _missing(requirement.field)
            )
        reasons.extend(_unreadable_optional(path) for path in unreadable if path not in explained)
        return reasons


def _holds(record: RecordBase, when: tuple[Callable[[object], Any], frozenset[str]]) -> bool:
    value = when[0](record)
    if value is None:
        return False
    return str(getattr(value, "value", value)) in when[1]


def _alternatives(field: MandatoryField) -> tuple[str, str]:
    if not field.alternatives:
        return "", ""
    others = ", ".join(field.alternatives)
    return f" hoặc {others}", f" or {others}"


def _missing(field: MandatoryField) -> RuleReason:
    alt_vi, alt_en = _alternatives(field)
    return RuleReason(
        code=ReasonCode.MISSING_MANDATORY_FIELD,
        detail_vi=f"Thiếu trường bắt buộc: {field.label_vi} ({field.path}{alt_vi}). Nếu sổ rách, "
        "mờ không đọc được thì ghi trường này vào danh sách trường không đọc được.",
        detail_en=f"Mandatory field missing: {field.label_en} ({field.path}{alt_en}). If the "
        "register cannot be read there, list the field in unreadable_fields.",
        field=field.path,
    )


def _not_enterable(field: MandatoryField) -> RuleReason:
    return RuleReason(
        code=ReasonCode.NOT_ENTERABLE,
        detail_vi=f"Sổ bị rách, hư hỏng: không đọc được trường bắt buộc {field.label_vi} "
        f"({field.path}); không nhập theo nguyên tắc 3 của kế hoạch (tính là không nhập "
        "được, không phải lỗi của cán bộ).",
        detail_en=f"Register torn or damaged: mandatory field unreadable: {field.label_en} "
        f"({field.path}); not entered under principle 3 of the plan (counted as not "
        "enterable, not as a clerk's error).",
        field=field.path,
    )


def _unreadable_optional(path: str) -> RuleReason:
    return RuleReason(
        code=ReasonCode.UNREADABLE_FIELD,
        detail_vi=f"Trường {path} không đọc được (sổ hư hỏng); không phải trường bắt buộc nên "
        "bản ghi vẫn được nhận.",
        detail_en=f"Field {path} is unreadable (damaged register); it is not mandatory, so "
        "the record is accepted.",
        field=path,
        severity="warning",
    )

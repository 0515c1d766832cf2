"""Mandatory fields per record type (trường thông tin bắt buộc), as validated configuration.

Principle 3 of the plan: every entry must carry at least the mandatory fields of its
type, and an entry from a register too torn or faded to show one is not entered. Which
fields are mandatory is data, not code: ``data/mandatory_fields.yaml`` lists them as
dotted paths into the record models (``details.child.full_name``); this module defines
the file's shape, checks every path against the models, and loads it. Applying the
table to a record is the validation service's business.

A requirement is one path, optionally with alternatives (satisfied when any of them is
given, e.g. a spouse's date of birth *or* age) and a condition (required only when
another field has one of some values, e.g. the mother's name unless the birth kind says
the mother is unknown).
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import types
import typing
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Final

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from hotich_contracts.records import RECORD_MODELS, RecordType

__all__ = [
    "DEFAULT_MANDATORY_FIELDS_RESOURCE",
    "MANDATORY_FIELDS_ENV",
    "FieldCondition",
    "MandatoryField",
    "MandatoryFields",
    "MandatoryFieldsError",
    "load_mandatory_fields",
    "parse_mandatory_fields",
    "resolve_field_path",
]

MANDATORY_FIELDS_ENV: Final = "HOTICH_MANDATORY_FIELDS_FILE"
"""Environment variable naming a mandatory-fields YAML file to use instead of the default."""

DEFAULT_MANDATORY_FIELDS_RESOURCE: Final = "mandatory_fields.yaml"
"""File name of the packaged table, inside ``hotich_contracts/data``."""

FieldPath = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")]
"""A dotted path of field names from the record's top level (no list indices)."""


class MandatoryFieldsError(ValueError):
    """A mandatory-fields file is missing, unreadable or names fields that do not exist."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldCondition(_Frozen):
    """Makes a requirement apply only when a field holds one of some values.

    Written ``{path: details.birth_kind, in: [both_parents_known, father_unknown]}``.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True
    )

    path: FieldPath = Field(description="The field whose value decides.")
    values: frozenset[str] = Field(
        alias="in", min_length=1, description="Values (enum values as written) that trigger it."
    )


class MandatoryField(_Frozen):
    """One mandatory field of a record type, with the words a clerk reads."""

    path: FieldPath = Field(description="Dotted path of the field, e.g. details.child.full_name.")
    label_vi: str = Field(min_length=1, description="What the field is, in Vietnamese.")
    label_en: str = Field(min_length=1, description="The same in English.")
    alternatives: tuple[FieldPath, ...] = Field(
        default=(), description="Other fields any of which satisfies the requirement instead."
    )
    when: FieldCondition | None = Field(
        default=None, description="Required only when this condition holds; null = always."
    )

    @property
    def paths(self) -> tuple[str, ...]:
        """The path, then its alternatives."""
        return (self.path, *self.alternatives)


class MandatoryFields(_Frozen):
    """The mandatory-field table: fields every record needs, and those of each type."""

    source_vi: str = Field(default="", description="Where the table comes from.")
    source_en: str = Field(default="", description="The same in English.")
    common: tuple[MandatoryField, ...] = Field(
        default=(), description="Mandatory for every record type (register metadata)."
    )
    types: dict[RecordType, tuple[MandatoryField, ...]] = Field(
        description="Mandatory fields of each record type; every type must be listed."
    )

    @model_validator(mode="after")
    def _paths_exist(self) -> MandatoryFields:
        problems: list[str] = []
        missing = [t.value for t in RecordType if t not in self.types]
        if missing:
            problems.append(f"record types not listed (use [] for none): {missing}")
        for record_type, own in self.types.items():
            model = RECORD_MODELS[record_type]
            seen: set[str] = set()
            for requirement in (*self.common, *own):
                if requirement.path in seen:
                    problems.append(f"{record_type.value}: {requirement.path} is listed twice")
                seen.add(requirement.path)
                for path in requirement.paths:
                    if resolve_field_path(model, path) is None:
                        problems.append(
                            f"{record_type.value}: {path} is not a field of {model.__name__}"
                        )
                if requirement.when is not None:
                    problems.extend(
                        f"{record_type.value}: {problem}"
                        for problem in _condition_problems(model, requirement.when)
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def for_type(self, record_type: RecordType | str) -> tuple[MandatoryField, ...]:
        """The requirements of a record type: the common ones, then the type's own."""
        return (*self.common, *self.types[RecordType(record_type)])

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the table's canonical JSON: equal tables, equal fingerprints."""
        data = self.model_dump(mode="json", by_alias=True)
        for requirement in (*data["common"], *(r for rs in data["types"].values() for r in rs)):
            if requirement["when"] is not None:
                requirement["when"]["in"] = sorted(requirement["when"]["in"])
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``None`` from an annotation with a single other type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def resolve_field_path(model: type[BaseModel], path: str) -> Any | None:
    """Return the (unwrapped) type a dotted path names under ``model``, or None.

    Paths go through nested models only: a list may end a path (its items are not
    addressed), and no segment may index into it.
    """
    current: Any = model
    for segment in path.split("."):
        current = _unwrap(current)
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(segment)
        if field is None:
            return None
        current = field.annotation
    return _unwrap(current)


def _condition_problems(model: type[BaseModel], condition: FieldCondition) -> list[str]:
    leaf = resolve_field_path(model, condition.path)
    if leaf is None:
        return [f"condition field {condition.path} is not a field of {model.__name__}"]
    if isinstance(leaf, type) and issubclass(leaf, enum.Enum):
        allowed = {str(member.value) for member in leaf}
        unknown = sorted(condition.values - allowed)
        if unknown:
            return [f"condition on {condition.path}: {unknown} are not among {sorted(allowed)}"]
    return []


# -- loading --------------------------------------------------------------------------


def parse_mandatory_fields(text: str, *, where: str = "<text>") -> MandatoryFields:
    """Validate the YAML text of a mandatory-fields table.

    Raises:
        MandatoryFieldsError: not YAML, not a mapping, or not a valid table.
    """
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MandatoryFieldsError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise MandatoryFieldsError(f"{where}: a mandatory-fields file must hold a mapping")
    try:
        return MandatoryFields.model_validate(data)
    except ValidationError as exc:
        raise MandatoryFieldsError(f"{where}: {exc}") from exc


def load_mandatory_fields(path: str | PathLike[str] | None = None) -> MandatoryFields:
    """Load and validate the mandatory-field table.

    Args:
        path: a YAML file. When None, the file named by ``HOTICH_MANDATORY_FIELDS_FILE``
            if set, else the table packaged with hotich_contracts.

    Raises:
        MandatoryFieldsError: the file cannot be read or is invalid.
    """
    if path is None:
        path = os.environ.get(MANDATORY_FIELDS_ENV) or None
    if path is None:
        resource = resources.files("hotich_contracts") / "data" / DEFAULT_MANDATORY_FIELDS_RESOURCE
        return parse_mandatory_fields(
            resource.read_text(encoding="utf-8"),
            where=f"hotich_contracts/data/{DEFAULT_MANDATORY_FIELDS_RESOURCE}",
        )
    file = Path(path)
    if not file.is_file():
        raise MandatoryFieldsError(f"mandatory-fields file {os.fspath(path)} does not exist")
    return parse_mandatory_fields(file.read_text(encoding="utf-8"), where=os.fspath(path))

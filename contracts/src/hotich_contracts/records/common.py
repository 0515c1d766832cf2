"""Parts every record type shares: enums, persons, document references, the record base.

A record (bản ghi) is one entry of a paper register (sổ hộ tịch) as a clerk keys it in.
The models check *structure* only: types, shapes, formats, and rules that make a record
self-consistent. Whether a field is mandatory for a type, whether a unit exists, or
whether an identity number fits a birth year is decided by the validation service,
from configuration, with reasons a clerk can read.

Text is stored as written, in Unicode NFC, stripped of surrounding whitespace. An
optional text given as an empty string counts as absent (null).
"""

from __future__ import annotations

import functools
import types
import typing
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from hotich_contracts.dates import PartialDate
from hotich_contracts.text import to_nfc

__all__ = [
    "UNIT_CODE_PATTERN",
    "ContractModel",
    "DetailsBase",
    "DocumentReference",
    "FullDate",
    "IdentityDocumentType",
    "Name",
    "OptionalText",
    "OptionalUnitCode",
    "Person",
    "RecordBase",
    "RecordType",
    "RegisterCondition",
    "RegistrationKind",
    "RegistrationReference",
    "Requester",
    "ResidenceType",
    "Sex",
    "Source",
    "Text",
    "UnitCode",
]

UNIT_CODE_PATTERN: Final = r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$"
"""GSO administrative unit code: 2 digits (province), 3 (district), 5 (commune)."""

UNREADABLE_PATH_PATTERN: Final = r"^[a-z_][a-z0-9_]*(\.([a-z_][a-z0-9_]*|[0-9]+))*$"
"""A dotted field path such as ``details.child.date_of_birth`` or ``details.changes.0``."""


# -- enums ------------------------------------------------------------------------------


class RecordType(StrEnum):
    """Kind of civil status event (việc hộ tịch) a record registers."""

    BIRTH = "birth"
    DEATH = "death"
    MARRIAGE = "marriage"
    MARRIAGE_RECORDING = "marriage_recording"
    MARITAL_STATUS = "marital_status"
    CHANGE_CORRECTION = "change_correction"
    ETHNICITY_REDETERMINATION = "ethnicity_redetermination"
    SEX_REDETERMINATION = "sex_redetermination"
    ADOPTION = "adoption"
    GUARDIANSHIP = "guardianship"
    DIVORCE_RECORDING = "divorce_recording"
    PARENTAGE_RECOGNITION = "parentage_recognition"


class Source(StrEnum):
    """How a record reached the system."""

    MANUAL = "manual"
    """Keyed in by a clerk from the paper register (nhập liệu thủ công)."""
    MIGRATION = "migration"
    """Imported in bulk from the local civil status software (chuyển đổi dữ liệu)."""


class Sex(StrEnum):
    """Sex (giới tính) as registered."""

    MALE = "male"
    FEMALE = "female"
    UNDETERMINED = "undetermined"


class ResidenceType(StrEnum):
    """Kind of residence (loại cư trú)."""

    PERMANENT = "permanent"
    """Thường trú."""
    TEMPORARY = "temporary"
    """Tạm trú."""


class IdentityDocumentType(StrEnum):
    """Kind of identity document (loại giấy tờ tùy thân)."""

    CMND = "cmnd"
    """Old identity card (chứng minh nhân dân), 9 or 12 digits."""
    CCCD = "cccd"
    """Citizen identity card (căn cước công dân), 12 digits."""
    PASSPORT = "passport"
    RESIDENCE_CARD = "residence_card"
    MILITARY_ID = "military_id"
    POLICE_ID = "police_id"
    OTHER = "other"


class RegistrationKind(StrEnum):
    """Kind of registration (loại đăng ký), as the register states it."""

    ON_TIME = "on_time"
    """First registration within the legal time limit (đúng hạn; for marriages: first)."""
    LATE = "late"
    """First registration after the time limit (quá hạn)."""
    RE_REGISTRATION = "re_registration"
    """Registration again of an event registered before (đăng ký lại)."""
    RECORDED_FROM_ABROAD = "recorded_from_abroad"
    """Recording of an event registered abroad (ghi vào sổ)."""


class RegisterCondition(StrEnum):
    """State of the register page the entry was read from (tình trạng sổ)."""

    INTACT = "intact"
    """Whole and readable."""
    DAMAGED = "damaged"
    """Torn, faded or stained (rách nát, mờ): some fields could not be read."""


# -- reusable field types ---------------------------------------------------------------


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _full_date_input(value: Any) -> Any:
    """Admit only a ``date`` or an ISO ``YYYY-MM-DD`` string (no timestamps, no times)."""
    if isinstance(value, datetime):
        raise PydanticCustomError("full_date_type", "Input should be a date, not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return text
    raise PydanticCustomError("full_date_format", "Input should be a full date YYYY-MM-DD")


Name = Annotated[str, Field(max_length=200), AfterValidator(to_nfc)]
"""A person's name as written, NFC."""

_TEXT_MAX = 1000

Text = Annotated[str, Field(max_length=_TEXT_MAX), AfterValidator(to_nfc)]
"""Free text as written, NFC."""


def _optional_text(value: Any) -> Any:
    """Blank text to None, other text stripped and in NFC: one call instead of two.

    Most fields of a record are optional texts: validating each with a blank check
    before and a normalization after cost two calls into Python per field. The length
    limit still counts the text as sent: a text over it is passed on as it is, for the
    limit to refuse. (Only characters that NFC expands, none of them Vietnamese, can now
    take a text within the limit over it.)
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        return text if len(text) > _TEXT_MAX else to_nfc(text)
    return value


OptionalText = Annotated[
    Annotated[str, Field(max_length=_TEXT_MAX)] | None, BeforeValidator(_optional_text)
]
"""Optional free text as written, NFC; blank means absent."""

UnitCode = Annotated[str, Field(pattern=UNIT_CODE_PATTERN)]
"""GSO administrative unit code (mã đơn vị hành chính)."""

OptionalUnitCode = Annotated[UnitCode | None, BeforeValidator(_blank_to_none)]
"""A unit code, or null."""

FullDate = Annotated[date, BeforeValidator(_full_date_input)]
"""A full calendar date, ``YYYY-MM-DD``."""


# -- models -----------------------------------------------------------------------------


class ContractModel(BaseModel):
    """Base of every record model: frozen, no unknown fields, whitespace stripped."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Person(ContractModel):
    """A person named in a record (người): the subject, a parent, a spouse, ..."""

    full_name: Name = Field(
        description=(
            "Full name (họ, chữ đệm và tên) as written, NFC. Empty only when the record "
            "lists it in unreadable_fields."
        )
    )
    date_of_birth: PartialDate | None = Field(
        default=None, description="Date of birth (ngày sinh), possibly partial."
    )
    age: int | None = Field(
        default=None,
        ge=0,
        le=150,
        description="Age as written (tuổi) when the register gives an age, not a birth date.",
    )
    sex: Sex | None = Field(default=None, description="Sex (giới tính).")
    ethnicity: OptionalText = Field(default=None, description="Ethnicity (dân tộc) as written.")
    nationality: OptionalText = Field(
        default=None, description="Nationality (quốc tịch) as written."
    )
    place_of_origin: OptionalText = Field(
        default=None, description="Place of origin (quê quán) as written."
    )
    residence_type: ResidenceType | None = Field(
        default=None, description="Kind of residence (loại cư trú)."
    )
    place_of_residence: OptionalText = Field(
        default=None, description="Place of residence (nơi cư trú) as written."
    )
    identity_document_type: IdentityDocumentType | None = Field(
        default=None, description="Kind of identity document (loại giấy tờ tùy thân)."
    )
    identity_number: OptionalText = Field(
        default=None,
        description=(
            "Identity document number (số giấy tờ tùy thân). For a CMND/CCCD, or when the "
            "kind is not given: 9 or 12 digits."
        ),
    )
    identity_issued_on: PartialDate | None = Field(
        default=None, description="Date the identity document was issued (ngày cấp)."
    )
    identity_issued_by: OptionalText = Field(
        default=None, description="Issuer of the identity document (nơi cấp)."
    )

    @field_validator("identity_number")
    @classmethod
    def _identity_number_shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        kind = info.data.get("identity_document_type")
        if kind in (None, IdentityDocumentType.CMND, IdentityDocumentType.CCCD) and not (
            value.isascii() and value.isdigit() and len(value) in (9, 12)
        ):
            raise PydanticCustomError(
                "identity_number_shape",
                "A CMND/CCCD number has 9 or 12 digits (only digits)",
            )
        return value


class Requester(Person):
    """The person who asked for the registration (người yêu cầu)."""

    relationship: OptionalText = Field(
        default=None,
        description="Relationship to the registered person (quan hệ với người được đăng ký).",
    )


class DocumentReference(ContractModel):
    """A document the register refers to: decision, judgment, notice (văn bản, giấy tờ)."""

    document_kind: OptionalText = Field(
        default=None,
        description='Kind as written (loại văn bản), e.g. "Quyết định", "Bản án", "Giấy báo tử".',
    )
    number: OptionalText = Field(default=None, description="Number (số) as written.")
    issued_on: PartialDate | None = Field(default=None, description="Date of issue (ngày).")
    issued_by: OptionalText = Field(
        default=None, description="Issuing authority (cơ quan ban hành, cơ quan cấp)."
    )
    country: OptionalText = Field(
        default=None, description="Country (quốc gia) for a foreign document."
    )


class RegistrationReference(ContractModel):
    """An earlier registration a record refers to (việc hộ tịch đã đăng ký)."""

    record_type: RecordType | None = Field(
        default=None, description="Type of the earlier registration."
    )
    registering_authority_code: OptionalUnitCode = Field(
        default=None, description="Unit that registered it (cơ quan đăng ký), GSO code."
    )
    registering_authority_name: OptionalText = Field(
        default=None, description="Unit that registered it, as written."
    )
    book_number: OptionalText = Field(default=None, description="Book number (quyển số).")
    entry_number: OptionalText = Field(default=None, description="Entry number (số).")
    registration_date: PartialDate | None = Field(
        default=None, description="Registration date (ngày đăng ký), possibly partial."
    )


class DetailsBase(ContractModel):
    """Base of the type-specific part of a record."""

    def subjects(self) -> tuple[Person, ...]:
        """Return the persons the record is about (for duplicate detection)."""
        raise NotImplementedError


class RecordBase(ContractModel):
    """Fields every record has: which event, and where it sits in which register."""

    record_type: RecordType = Field(description="Kind of event (loại việc hộ tịch).")
    registering_authority_code: OptionalUnitCode = Field(
        description=(
            "GSO code of the unit that registered the event (cơ quan đăng ký); province "
            "level: the province code. Null when the unit is unknown or defunct."
        )
    )
    registering_authority_name: OptionalText = Field(
        default=None,
        validate_default=True,
        description=(
            "Registering unit as written in the register (tên cơ quan đăng ký). Required "
            "when registering_authority_code is null."
        ),
    )
    storing_unit_code: UnitCode = Field(
        description="GSO code of the unit keeping the register (đơn vị lưu sổ)."
    )
    book_number: str = Field(
        max_length=50,
        description=(
            'Book number (quyển số) as written, e.g. "01/2008". Empty only when listed in '
            "unreadable_fields."
        ),
    )
    entry_number: str = Field(
        max_length=50,
        description=(
            "Entry number (số đăng ký, số) as written. Empty only when listed in unreadable_fields."
        ),
    )
    page: int | None = Field(default=None, ge=1, description="Page (trang số).")
    registration_date: FullDate = Field(description="Registration date (ngày đăng ký).")
    registration_kind: RegistrationKind | None = Field(
        default=None, description="Kind of registration (loại đăng ký)."
    )
    source: Source = Field(
        default=Source.MANUAL,
        description="manual (keyed from paper) or migration (from local software).",
    )
    requester: Requester | None = Field(
        default=None, description="The person who asked for the registration (người yêu cầu)."
    )
    signer_name: OptionalText = Field(
        default=None, description="Name of the official who signed (người ký)."
    )
    signer_title: OptionalText = Field(
        default=None, description="Title of the official who signed (chức vụ người ký)."
    )
    page_image: OptionalText = Field(
        default=None,
        description="Link to the scanned register page (ảnh trang sổ): URL or storage key.",
    )
    register_condition: RegisterCondition | None = Field(
        default=None, description="State of the register page (tình trạng sổ)."
    )
    unreadable_fields: list[Annotated[str, Field(pattern=UNREADABLE_PATH_PATTERN)]] = Field(
        default_factory=list,
        description=(
            "Dotted paths of fields that cannot be read in a torn or damaged register "
            "(không đọc được), e.g. details.child.date_of_birth. A record missing a "
            "mandatory field this way is counted as not enterable, not as a clerk's error."
        ),
    )
    notes: OptionalText = Field(default=None, description="Notes (ghi chú).")
    details: DetailsBase = Field(description="The type-specific part of the record.")

    @field_validator("registering_authority_name")
    @classmethod
    def _name_when_no_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        if (
            value is None
            and "registering_authority_code" in info.data
            and info.data["registering_authority_code"] is None
        ):
            raise PydanticCustomError(
                "authority_name_required",
                "registering_authority_name is required when registering_authority_code is "
                "null (registering unit unknown or defunct)",
            )
        return value

    @model_validator(mode="after")
    def _check_unreadable(self) -> RecordBase:
        errors: list[InitErrorDetails] = []
        for index, path in enumerate(self.unreadable_fields):
            if not _path_exists(type(self), path.split(".")):
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "unreadable_field_unknown",
                            "{path} is not a field of a {record_type} record",
                            {"path": path, "record_type": str(self.record_type)},
                        ),
                        loc=("unreadable_fields", index),
                        input=path,
                    )
                )
        marked = [tuple(path.split(".")) for path in self.unreadable_fields]
        for loc in _empty_required_texts(self, ()):
            text_loc = tuple(str(part) for part in loc)
            if not any(text_loc[: len(prefix)] == prefix for prefix in marked):
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "empty_unless_unreadable",
                            "Must not be empty unless listed in unreadable_fields",
                        ),
                        loc=loc,
                        input="",
                    )
                )
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


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


def _path_exists(model: type[BaseModel], segments: list[str]) -> bool:
    """Return whether a dotted path names a field (or list item) under ``model``."""
    current: Any = model
    for segment in segments:
        current = _unwrap(current)
        if typing.get_origin(current) in (list, tuple):
            if not segment.isdigit():
                return False
            current = typing.get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(segment)
            if field is None:
                return False
            current = field.annotation
        else:
            return False
    return True


def _empty_required_texts(
    model: BaseModel, loc: tuple[str | int, ...]
) -> list[tuple[str | int, ...]]:
    """Return the locations of required texts left empty (names, book and entry numbers)."""
    found: list[tuple[str | int, ...]] = []
    is_person, is_record, nested = _walk_plan(type(model))
    if is_person and not model.full_name:  # type: ignore[attr-defined]
        found.append((*loc, "full_name"))
    if is_record:
        found.extend(
            (name,) for name in ("book_number", "entry_number") if not getattr(model, name)
        )
    for name in nested:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found.extend(_empty_required_texts(value, (*loc, name)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found.extend(_empty_required_texts(item, (*loc, name, index)))
    return found


@functools.cache
def _walk_plan(model: type[BaseModel]) -> tuple[bool, bool, tuple[str, ...]]:
    """What :func:`_empty_required_texts` looks at in a ``model``: known once per class."""
    return issubclass(model, Person), issubclass(model, RecordBase), _nested_fields(model)


def _holds_model(annotation: Any) -> bool:
    """Whether values of ``annotation`` may be (or hold, in a list) a pydantic model."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in typing.get_args(annotation))


@functools.cache
def _nested_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` that may hold models: the only ones worth walking into.

    Every record is walked once per validation; reading all of its ~40 fields (most of
    them texts and dates) made the walk most of the cost of validating a record.
    """
    return tuple(
        name for name, field in model.model_fields.items() if _holds_model(field.annotation)
    )

"""Record contracts: what a clerk keys in, one model per type of civil status event.

:data:`Record` is the discriminated union of the twelve record models, selected by
``record_type``; parse input with :data:`RECORD_ADAPTER` (or :func:`parse_record`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import Field, TypeAdapter

from hotich_contracts.records.adoption import AdoptionDetails, AdoptionRecord
from hotich_contracts.records.birth import BirthDetails, BirthKind, BirthRecord
from hotich_contracts.records.change_correction import (
    ChangeCorrectionDetails,
    ChangeCorrectionRecord,
    ChangedItem,
    ChangeKind,
)
from hotich_contracts.records.common import (
    ContractModel,
    DetailsBase,
    DocumentReference,
    IdentityDocumentType,
    Person,
    RecordBase,
    RecordType,
    RegisterCondition,
    RegistrationKind,
    RegistrationReference,
    Requester,
    ResidenceType,
    Sex,
    Source,
)
from hotich_contracts.records.death import DeathDetails, DeathRecord
from hotich_contracts.records.divorce_recording import (
    DivorceRecordingDetails,
    DivorceRecordingRecord,
)
from hotich_contracts.records.ethnicity_redetermination import (
    EthnicityRedeterminationDetails,
    EthnicityRedeterminationRecord,
)
from hotich_contracts.records.guardianship import (
    GuardianshipAction,
    GuardianshipDetails,
    GuardianshipKind,
    GuardianshipRecord,
)
from hotich_contracts.records.marital_status import (
    MaritalStatusDetails,
    MaritalStatusPurpose,
    MaritalStatusRecord,
    MaritalStatusValue,
)
from hotich_contracts.records.marriage import (
    CoupleDetails,
    MarriageDetails,
    MarriageRecord,
    MarriageStatus,
)
from hotich_contracts.records.marriage_recording import (
    MarriageRecordingDetails,
    MarriageRecordingRecord,
)
from hotich_contracts.records.parentage_recognition import (
    ParentageRecognitionDetails,
    ParentageRecognitionRecord,
    RecognitionKind,
)
from hotich_contracts.records.sex_redetermination import (
    SexRedeterminationDetails,
    SexRedeterminationRecord,
)
from hotich_contracts.text import normalize_name

__all__ = [
    "RECORD_ADAPTER",
    "RECORD_MODELS",
    "AdoptionDetails",
    "AdoptionRecord",
    "BirthDetails",
    "BirthKind",
    "BirthRecord",
    "ChangeCorrectionDetails",
    "ChangeCorrectionRecord",
    "ChangeKind",
    "ChangedItem",
    "ContractModel",
    "CoupleDetails",
    "DeathDetails",
    "DeathRecord",
    "DetailsBase",
    "DivorceRecordingDetails",
    "DivorceRecordingRecord",
    "DocumentReference",
    "EthnicityRedeterminationDetails",
    "EthnicityRedeterminationRecord",
    "GuardianshipAction",
    "GuardianshipDetails",
    "GuardianshipKind",
    "GuardianshipRecord",
    "IdentityDocumentType",
    "MaritalStatusDetails",
    "MaritalStatusPurpose",
    "MaritalStatusRecord",
    "MaritalStatusValue",
    "MarriageDetails",
    "MarriageRecord",
    "MarriageRecordingDetails",
    "MarriageRecordingRecord",
    "MarriageStatus",
    "ParentageRecognitionDetails",
    "ParentageRecognitionRecord",
    "Person",
    "RecognitionKind",
    "Record",
    "RecordBase",
    "RecordType",
    "RegisterCondition",
    "RegistrationKind",
    "RegistrationReference",
    "Requester",
    "ResidenceType",
    "Sex",
    "SexRedeterminationDetails",
    "SexRedeterminationRecord",
    "Source",
    "natural_key",
    "parse_record",
    "parse_record_json",
    "subject_names",
]

Record = Annotated[
    BirthRecord
    | DeathRecord
    | MarriageRecord
    | MarriageRecordingRecord
    | MaritalStatusRecord
    | ChangeCorrectionRecord
    | EthnicityRedeterminationRecord
    | SexRedeterminationRecord
    | AdoptionRecord
    | GuardianshipRecord
    | DivorceRecordingRecord
    | ParentageRecognitionRecord,
    Field(discriminator="record_type"),
]
"""Any record; ``record_type`` selects the model."""

RECORD_ADAPTER: Final[TypeAdapter[Record]] = TypeAdapter(Record)
"""Validates and serializes :data:`Record` values."""

RECORD_MODELS: Final[dict[RecordType, type[RecordBase]]] = {
    RecordType.BIRTH: BirthRecord,
    RecordType.DEATH: DeathRecord,
    RecordType.MARRIAGE: MarriageRecord,
    RecordType.MARRIAGE_RECORDING: MarriageRecordingRecord,
    RecordType.MARITAL_STATUS: MaritalStatusRecord,
    RecordType.CHANGE_CORRECTION: ChangeCorrectionRecord,
    RecordType.ETHNICITY_REDETERMINATION: EthnicityRedeterminationRecord,
    RecordType.SEX_REDETERMINATION: SexRedeterminationRecord,
    RecordType.ADOPTION: AdoptionRecord,
    RecordType.GUARDIANSHIP: GuardianshipRecord,
    RecordType.DIVORCE_RECORDING: DivorceRecordingRecord,
    RecordType.PARENTAGE_RECOGNITION: ParentageRecognitionRecord,
}
"""The record model of each record type."""


def parse_record(data: Any) -> Record:
    """Validate a record from Python data (e.g. a decoded JSON object).

    Raises:
        pydantic.ValidationError: With a location for every field in error.
    """
    return RECORD_ADAPTER.validate_python(data)


def parse_record_json(data: str | bytes) -> Record:
    """Validate a record from JSON text.

    Raises:
        pydantic.ValidationError: With a location for every field in error.
    """
    return RECORD_ADAPTER.validate_json(data)


def _key_part(text: str) -> str:
    # "|" separates the parts; escape it (and the escape character) inside a part.
    return normalize_name(text).replace("%", "%25").replace("|", "%7C")


_DIGIT_RUN: Final = re.compile(r"[0-9]+", re.ASCII)


def _book_part(book_number: str) -> str:
    """Compare every run of digits of a book number by its value ("2/2010" == "02/2010").

    Each run is written without its leading zeros and padded to two digits, so the
    usual written form ("01/2010") is also the key's form.
    """
    return _DIGIT_RUN.sub(lambda m: f"{int(m.group()):02d}", normalize_name(book_number))


def natural_key(record: RecordBase) -> str:
    """Return the register coordinates of a record as one comparable string.

    ``<authority>|<book_number>|<entry_number>|<record_type>``, where the authority is the
    registering unit's code, or its normalized name when the code is null. Each part is
    stripped, NFC, case-folded, whitespace-collapsed and tone-canonical; every run of
    digits in the book number is compared by value ("2/2010", "02/2010" and "002/2010"
    all give "02/2010"); a purely numeric entry number loses its leading zeros
    ("015" -> "15"). Two records with the same key claim the same line of the same
    register.
    """
    authority = record.registering_authority_code or record.registering_authority_name or ""
    entry = normalize_name(record.entry_number)
    if entry.isascii() and entry.isdigit():
        entry = str(int(entry))
    parts = (
        _key_part(authority),
        _key_part(_book_part(record.book_number)),
        _key_part(entry),
        record.record_type.value,
    )
    return "|".join(parts)


def subject_names(record: RecordBase) -> list[str]:
    """Return the names of the persons the record is about, as written.

    Birth: the child; death: the deceased; marriage, marriage and divorce recordings:
    husband and wife; marital status, change/correction, re-determinations: the person
    concerned; adoption: the child and the adoptive parents named; guardianship: ward
    and guardian; parentage recognition: parent and child. Unreadable (empty) names are
    left out.
    """
    return [person.full_name for person in record.details.subjects() if person.full_name]

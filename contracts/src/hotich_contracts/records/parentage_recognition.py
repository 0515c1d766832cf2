"""Recognition of parentage (nhận cha, mẹ, con).

In the Law on Civil Status but in no phase of the plan: valid data, rejected by the
validation service as out of scope.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from hotich_contracts.records.common import (
    DetailsBase,
    DocumentReference,
    Person,
    RecordBase,
    RecordType,
)

__all__ = ["ParentageRecognitionDetails", "ParentageRecognitionRecord", "RecognitionKind"]


class RecognitionKind(StrEnum):
    """Who recognises whom (loại xác nhận)."""

    FATHER_RECOGNISES_CHILD = "father_recognises_child"
    MOTHER_RECOGNISES_CHILD = "mother_recognises_child"
    CHILD_RECOGNISES_FATHER = "child_recognises_father"
    CHILD_RECOGNISES_MOTHER = "child_recognises_mother"


class ParentageRecognitionDetails(DetailsBase):
    """The parent, the child and who recognised whom."""

    parent: Person = Field(description="The parent (cha hoặc mẹ).")
    child: Person = Field(description="The child (con).")
    kind: RecognitionKind | None = Field(
        default=None, description="Who recognises whom (loại xác nhận)."
    )
    decision: DocumentReference | None = Field(
        default=None, description="The decision, if any (quyết định)."
    )

    def subjects(self) -> tuple[Person, ...]:
        """Return the parent, then the child."""
        return (self.parent, self.child)


class ParentageRecognitionRecord(RecordBase):
    """An entry of the parentage recognition register (sổ đăng ký nhận cha, mẹ, con)."""

    record_type: Literal[RecordType.PARENTAGE_RECOGNITION] = Field(
        description="Always parentage_recognition."
    )
    details: ParentageRecognitionDetails = Field(description="The parent and the child.")

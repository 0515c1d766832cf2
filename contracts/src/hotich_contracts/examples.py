"""Valid example records of every type, for tests, demos and the end-to-end flow.

Every example is registered by, and stored at, Phường 3 of Tây Ninh city (GSO 25459),
in book "01/2010", entry "15", on 15/03/2010: a phase 1 date for the types of phase 1
(group A cutoff 31/12/2011) and a phase 3 date for the others. Names and places are
invented but realistic.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from hotich_contracts.records.common import RecordType

__all__ = ["EXAMPLE_UNIT_CODE", "example_details", "example_record"]

EXAMPLE_UNIT_CODE: Final = "25459"
"""Phường 3, thành phố Tây Ninh (group A)."""

_PLACE: Final = "Phường 3, thành phố Tây Ninh, tỉnh Tây Ninh"

_DETAILS: Final[dict[RecordType, dict[str, Any]]] = {
    RecordType.BIRTH: {
        "child": {
            "full_name": "Trần Minh Khôi",
            "date_of_birth": "2010-02-27",
            "sex": "male",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "place_of_origin": "Hòa Thành, Tây Ninh",
        },
        "date_of_birth_in_words": "Ngày hai mươi bảy, tháng hai, năm hai nghìn không trăm mười",
        "place_of_birth": "Bệnh viện Đa khoa tỉnh Tây Ninh",
        "birth_kind": "both_parents_known",
        "mother": {
            "full_name": "Nguyễn Thị Thúy",
            "date_of_birth": "1985",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "residence_type": "permanent",
            "place_of_residence": _PLACE,
            "identity_document_type": "cmnd",
            "identity_number": "290812345",
        },
        "father": {
            "full_name": "Trần Văn Hùng",
            "date_of_birth": "1982",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "residence_type": "permanent",
            "place_of_residence": _PLACE,
        },
    },
    RecordType.DEATH: {
        "deceased": {
            "full_name": "Lê Văn Tám",
            "date_of_birth": "1931",
            "sex": "male",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "place_of_residence": _PLACE,
        },
        "date_of_death": "2010-03-10",
        "time_of_death": "14:30:00",
        "place_of_death": "Tại nhà, " + _PLACE,
        "cause_of_death": "Già yếu",
        "death_notice": {
            "document_kind": "Giấy báo tử",
            "number": "12/GBT",
            "issued_on": "2010-03-11",
            "issued_by": "Trạm Y tế Phường 3",
        },
    },
    RecordType.MARRIAGE: {
        "husband": {
            "full_name": "Phạm Quốc Bảo",
            "date_of_birth": "1984-06-02",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "place_of_residence": _PLACE,
            "identity_document_type": "cmnd",
            "identity_number": "290765432",
        },
        "wife": {
            "full_name": "Võ Thị Ngọc Hân",
            "date_of_birth": "1987-11-20",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "place_of_residence": "Xã Thạnh Tân, thành phố Tây Ninh",
            "identity_document_type": "cmnd",
            "identity_number": "291234567",
        },
    },
    RecordType.MARRIAGE_RECORDING: {
        "husband": {
            "full_name": "Sok Chanthy",
            "date_of_birth": "1980",
            "nationality": "Campuchia",
            "identity_document_type": "passport",
            "identity_number": "N0123456",
        },
        "wife": {
            "full_name": "Đặng Thị Hoà",
            "date_of_birth": "1983-09",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "place_of_residence": _PLACE,
        },
        "foreign_registration": {
            "document_kind": "Giấy chứng nhận kết hôn",
            "number": "154",
            "issued_on": "2009-12-05",
            "issued_by": "Ủy ban xã Bavet",
            "country": "Campuchia",
        },
    },
    RecordType.MARITAL_STATUS: {
        "subject": {
            "full_name": "Huỳnh Thị Kim Loan",
            "date_of_birth": "1988-04-15",
            "sex": "female",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "place_of_residence": _PLACE,
            "identity_document_type": "cmnd",
            "identity_number": "291456789",
        },
        "purpose": "marriage",
        "purpose_text": "Để làm thủ tục đăng ký kết hôn",
        "marital_status": "never_married",
        "residence_place": _PLACE,
        "residence_from": "2006",
        "residence_to": "2010-03",
        "intended_spouse": {"full_name": "Lý Văn Phúc", "date_of_birth": "1985"},
    },
    RecordType.CHANGE_CORRECTION: {
        "subject": {
            "full_name": "Nguyễn Hoàng Thuỷ Tiên",
            "date_of_birth": "1998-07-01",
            "sex": "female",
        },
        "kind": "correction",
        "original_registration": {
            "record_type": "birth",
            "registering_authority_code": "25459",
            "book_number": "01/1998",
            "entry_number": "120",
            "registration_date": "1998-07-20",
        },
        "changes": [
            {
                "item": "Họ, chữ đệm, tên",
                "before": "Nguyễn Hoàng Thủy Tiên",
                "after": "Nguyễn Hoàng Thuỷ Tiên",
            }
        ],
        "legal_basis": "Tờ khai cải chính hộ tịch ngày 01/03/2010",
    },
    RecordType.ETHNICITY_REDETERMINATION: {
        "subject": {
            "full_name": "Thạch Thị Sa Rên",
            "date_of_birth": "2001-05-09",
            "sex": "female",
        },
        "original_registration": {
            "record_type": "birth",
            "registering_authority_code": "25459",
            "book_number": "01/2001",
            "entry_number": "88",
        },
        "ethnicity_before": "Kinh",
        "ethnicity_after": "Khơ Me (Khmer)",
        "legal_basis": "Theo dân tộc của mẹ",
    },
    RecordType.SEX_REDETERMINATION: {
        "subject": {
            "full_name": "Trương Minh An",
            "date_of_birth": "1995-10-12",
        },
        "sex_before": "female",
        "sex_after": "male",
        "decision": {
            "document_kind": "Quyết định",
            "number": "45/QĐ-BVCR",
            "issued_on": "2010-01-20",
            "issued_by": "Bệnh viện Chợ Rẫy",
        },
    },
    RecordType.ADOPTION: {
        "child": {"full_name": "Ngô Thanh Tâm", "date_of_birth": "2008-08-08", "sex": "male"},
        "adoptive_father": {"full_name": "Ngô Văn Lợi", "date_of_birth": "1970"},
        "adoptive_mother": {"full_name": "Đỗ Thị Mai", "date_of_birth": "1973"},
        "birth_mother": {"full_name": "Phan Thị Lan"},
        "decision": {
            "document_kind": "Quyết định",
            "number": "03/QĐ-UBND",
            "issued_on": "2010-03-12",
            "issued_by": "UBND Phường 3",
        },
    },
    RecordType.GUARDIANSHIP: {
        "ward": {"full_name": "Lâm Gia Huy", "date_of_birth": "2004-01-30", "sex": "male"},
        "guardian": {
            "full_name": "Lâm Văn Quý",
            "date_of_birth": "1960",
            "place_of_residence": _PLACE,
        },
        "kind": "statutory",
        "action": "establishment",
        "reason": "Cha mẹ đều đã chết",
    },
    RecordType.DIVORCE_RECORDING: {
        "husband": {"full_name": "Kim Sokha", "nationality": "Campuchia"},
        "wife": {
            "full_name": "Châu Thị Bích Ngọc",
            "date_of_birth": "1979",
            "nationality": "Việt Nam",
        },
        "foreign_judgment": {
            "document_kind": "Bản án",
            "number": "27/2009",
            "issued_on": "2009-11-03",
            "issued_by": "Tòa án tỉnh Svay Rieng",
            "country": "Campuchia",
        },
        "effective_date": "2009-12",
    },
    RecordType.PARENTAGE_RECOGNITION: {
        "parent": {"full_name": "Dương Văn Nhân", "date_of_birth": "1975", "sex": "male"},
        "child": {
            "full_name": "Dương Thị Mỹ Duyên",
            "date_of_birth": "2003-02-14",
            "sex": "female",
        },
        "kind": "father_recognises_child",
    },
}


def example_details(record_type: RecordType) -> dict[str, Any]:
    """Return a fresh copy of the example type-specific part of ``record_type``."""
    return copy.deepcopy(_DETAILS[RecordType(record_type)])


def example_record(record_type: RecordType, /, **overrides: Any) -> dict[str, Any]:
    """Return a valid record of ``record_type`` as a JSON-able dict.

    Args:
        record_type: The type of record wanted.
        **overrides: Top-level fields to set (or replace) in the result, e.g.
            ``registering_authority_code=None`` or ``details={...}``. They are applied
            as given and not validated, so invalid records can be built on purpose.

    Returns:
        A new dict on every call; changing it changes no other example.
    """
    record: dict[str, Any] = {
        "record_type": RecordType(record_type).value,
        "registering_authority_code": EXAMPLE_UNIT_CODE,
        "storing_unit_code": EXAMPLE_UNIT_CODE,
        "book_number": "01/2010",
        "entry_number": "15",
        "page": 8,
        "registration_date": "2010-03-15",
        "source": "manual",
        "details": example_details(record_type),
    }
    record.update(copy.deepcopy(overrides))
    return record

"""Error answers in both languages: Vietnamese for clerks, English beside it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from hotich_runtime import metrics

_VI_BY_TYPE = {
    "missing": "Thiếu trường bắt buộc.",
    "extra_forbidden": "Trường không được phép.",
    "string_type": "Phải là chuỗi ký tự.",
    "int_type": "Phải là số nguyên.",
    "int_parsing": "Phải là số nguyên.",
    "date_from_datetime_parsing": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
    "date_parsing": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
    "date_type": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
    "union_tag_invalid": "Loại việc hộ tịch không hợp lệ.",
    "union_tag_not_found": "Thiếu loại việc hộ tịch (record_type).",
    "literal_error": "Giá trị không nằm trong danh sách cho phép.",
    "enum": "Giá trị không nằm trong danh sách cho phép.",
    "string_pattern_mismatch": "Sai định dạng.",
    "greater_than_equal": "Giá trị quá nhỏ.",
    "json_invalid": "Nội dung JSON không hợp lệ.",
    "value_error": "Giá trị không hợp lệ.",
}


def field_errors(errors: Any) -> list[dict[str, Any]]:
    """Turn pydantic errors into field-level reasons with both languages."""
    out = []
    for err in errors:
        metrics.INPUT_ERRORS.labels("intake", str(err.get("type", "invalid"))).inc()
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        out.append(
            {
                "field": ".".join(loc),
                "code": err.get("type", "invalid"),
                "message_vi": _VI_BY_TYPE.get(err.get("type", ""), "Giá trị không hợp lệ."),
                "message_en": err.get("msg", "invalid value"),
            }
        )
    return out


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 with field-level reasons, never a 500, for malformed input."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        status_code=422,
        content={
            "message_vi": "Dữ liệu nhập không đúng cấu trúc.",
            "message_en": "The input is malformed.",
            "errors": field_errors(exc.errors()),
        },
    )


def problem(status: int, message_vi: str, message_en: str, **headers: str) -> JSONResponse:
    """A JSON error answer in both languages."""
    return JSONResponse(
        status_code=status,
        headers=headers or None,
        content={"message_vi": message_vi, "message_en": message_en},
    )


async def unavailable_handler(_request: Request, _exc: Exception) -> JSONResponse:
    """503 with Retry-After for a store or broker that did not answer, wherever it surfaced.

    The endpoints answer their own 503s; this catches the rest (an audit row that could
    not be written, say) so that an outage is never a 500.
    """
    return problem(
        503,
        "Hệ thống tạm thời không xử lý được yêu cầu, vui lòng gửi lại sau.",
        "Temporarily unable to handle the request; retry later.",
        **{"Retry-After": "5"},
    )

"""HTTP routes of reporting.

Progress, books and gaps, cost, deadlines, survey import, acceptance and the two
reports as Excel or CSV.

Thin: each route authenticates, calls one query or use case and maps its errors. Tokens
are intake's bearer tokens, sent as ``Authorization: Bearer`` or, from the dashboard,
as the ``hotich_token`` cookie.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, Field

from hotich_reporting.adapters.spreadsheets import XLSX_MEDIA_TYPE, read_rows, to_csv, to_xlsx
from hotich_reporting.domain.acceptance import LotError
from hotich_reporting.domain.iso2859 import single_sampling_plan
from hotich_reporting.domain.survey import SurveyError
from hotich_reporting.service_layer import report_tables
from hotich_reporting.service_layer.acceptance import LotNotFound
from hotich_reporting.service_layer.ports import ConflictError
from hotich_reporting.service_layer.queries import OutOfScope, UnknownPhase, lot_summary
from hotich_reporting.service_layer.survey import import_survey
from hotich_runtime.auth import InvalidToken, Principal, read_token

__all__ = ["COOKIE", "current_principal", "router"]

COOKIE = "hotich_token"
"""Cookie the dashboard keeps the bearer token in (HttpOnly, SameSite=Strict)."""

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
router = APIRouter(tags=["reports"])

_FORBIDDEN = "Ngoài phạm vi đơn vị / Outside your unit's scope"


def deps_of(request: Request) -> Any:
    """The process's :class:`~hotich_reporting.bootstrap.ReportingDeps`."""
    return request.app.state.runtime.state["deps"]


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    """Verify a bearer token issued by intake (header, else the dashboard's cookie)."""
    token = token or request.cookies.get(COOKIE)
    if token is None:
        raise HTTPException(
            401, "Chưa đăng nhập / Not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        return read_token(token, deps_of(request).settings.jwt_secret)
    except InvalidToken as exc:
        raise HTTPException(
            401,
            "Phiên đăng nhập không hợp lệ / Invalid token",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


Caller = Annotated[Principal, Depends(current_principal)]
PhaseParam = Annotated[
    str, Query(description="1, 2, 3, migration, none (out of scope), pending or all.")
]
ReportPhase = Annotated[
    Literal["1", "2", "3", "migration"], Query(description="1, 2, 3 or migration.")
]


def _forbidden(exc: Exception) -> HTTPException:
    return HTTPException(403, _FORBIDDEN)


@router.get("/v1/me", summary="Who is calling (tài khoản)")
async def me(principal: Caller, request: Request) -> dict[str, Any]:
    """The caller's account, unit and role, as the token says."""
    reports = deps_of(request).reports
    return {
        "username": principal.username,
        "role": principal.role.value,
        "unit": reports.unit_info(principal.unit_code),
        "province": reports.unit_info(None),
    }


@router.get("/v1/progress", summary="Status counts per unit, type and phase (tiến độ)")
async def get_progress(
    request: Request, principal: Caller, phase: str | None = None, unit_code: str | None = None
) -> dict[str, Any]:
    """Current status counts, rolled up the unit tree, within the caller's scope."""
    try:
        result: dict[str, Any] = await deps_of(request).reports.lifecycle(
            principal, phase, unit_code
        )
    except OutOfScope as exc:
        raise _forbidden(exc) from exc
    return result


@router.get("/v1/reports/progress", summary="Progress of a phase against the survey")
async def report_progress(
    request: Request, principal: Caller, phase: PhaseParam = "all", unit_code: str | None = None
) -> dict[str, Any]:
    """A unit's counters (rolled up), its units below, by record type; cost and completion."""
    try:
        result: dict[str, Any] = await deps_of(request).reports.progress(
            principal, phase, unit_code
        )
    except OutOfScope as exc:
        raise _forbidden(exc) from exc
    except UnknownPhase as exc:
        raise HTTPException(422, f"Giai đoạn không hợp lệ / unknown phase {phase!r}") from exc
    return result


@router.get("/v1/reports/units/{unit_code}/books", summary="Register books of a unit (sổ hộ tịch)")
async def unit_books(
    request: Request, principal: Caller, unit_code: str, phase: str | None = None
) -> dict[str, Any]:
    """Expected entries (survey) against entered, accounted and missing, per book."""
    try:
        result: dict[str, Any] = await deps_of(request).reports.books(principal, unit_code, phase)
    except OutOfScope as exc:
        raise _forbidden(exc) from exc
    return result


@router.get("/v1/reports/books/{book_key:path}/gaps", summary="Entry numbers still missing")
async def book_gaps(request: Request, principal: Caller, book_key: str) -> dict[str, Any]:
    """The entry numbers of a register book nobody has accounted for yet, as ranges."""
    try:
        result: dict[str, Any] = await deps_of(request).reports.gaps(principal, book_key)
    except OutOfScope as exc:
        raise _forbidden(exc) from exc
    except KeyError as exc:
        raise HTTPException(404, "Không có sổ này / No such book") from exc
    return result


@router.get("/v1/reports/cost", summary="Cost (kinh phí) and payment due")
async def report_cost(
    request: Request, principal: Caller, phase: PhaseParam = "all", unit_code: str | None = None
) -> dict[str, Any]:
    """Accepted records x the plan's unit price per level; payment due for passed lots."""
    try:
        result: dict[str, Any] = await deps_of(request).reports.cost(principal, phase, unit_code)
    except OutOfScope as exc:
        raise _forbidden(exc) from exc
    except UnknownPhase as exc:
        raise HTTPException(422, f"unknown phase {phase!r}") from exc
    return result


@router.get("/v1/reports/deadlines", summary="Report deadlines (thời hạn báo cáo)")
async def report_deadlines(request: Request, principal: Caller) -> dict[str, Any]:
    """Every phase's report deadlines: on time, due soon or overdue."""
    result: dict[str, Any] = deps_of(request).reports.deadlines()
    return result


def _file(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/v1/reports/district.{fmt}", summary="District report to the Department")
async def district_report(
    request: Request,
    principal: Caller,
    fmt: Literal["xlsx", "csv"],
    phase: ReportPhase,
    district: str | None = None,
    sheet: Annotated[int, Query(ge=0, description="Table for CSV (0 = by unit).")] = 0,
) -> Response:
    """Báo cáo của UBND cấp huyện gửi Sở Tư pháp, as Excel or one table as CSV."""
    try:
        document = await report_tables.district_report(
            deps_of(request).reports, principal, phase, district
        )
    except OutOfScope as exc:
        raise _forbidden(exc) from exc
    return _render(document, fmt, sheet)


@router.get("/v1/reports/province.{fmt}", summary="Department's report to the Province")
async def province_report(
    request: Request,
    principal: Caller,
    fmt: Literal["xlsx", "csv"],
    phase: ReportPhase,
    sheet: Annotated[int, Query(ge=0, description="Table for CSV (0 = by district).")] = 0,
) -> Response:
    """Báo cáo của Sở Tư pháp gửi UBND tỉnh, as Excel or one table as CSV."""
    try:
        document = await report_tables.province_report(deps_of(request).reports, principal, phase)
    except OutOfScope as exc:
        raise _forbidden(exc) from exc
    return _render(document, fmt, sheet)


def _render(document: report_tables.ReportDocument, fmt: str, sheet: int) -> Response:
    if fmt == "xlsx":
        return _file(to_xlsx(document), XLSX_MEDIA_TYPE, f"{document.name}.xlsx")
    if sheet >= len(document.sheets):
        raise HTTPException(422, f"sheet must be below {len(document.sheets)}")
    return _file(to_csv(document, sheet), "text/csv; charset=utf-8", f"{document.name}.csv")


@router.post(
    "/v1/survey",
    summary="Import the survey baseline (khảo sát)",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The survey file as the body: CSV (UTF-8) or Excel .xlsx.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def post_survey(request: Request, principal: Caller, replace: bool = False) -> dict[str, Any]:
    """Import survey rows: one register book per row; every bad row is reported at once."""
    deps = deps_of(request)
    try:
        rows = read_rows(await request.body())
        result: dict[str, Any] = await import_survey(
            deps.survey,
            rows,
            plan=deps.plan,
            registry=deps.registry,
            principal=principal,
            replace=replace,
        )
    except SurveyError as exc:
        raise HTTPException(
            422, {"message": "Dữ liệu khảo sát có lỗi / bad survey rows", "errors": exc.errors}
        ) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    except OutOfScope as exc:
        raise _forbidden(exc) from exc
    return result


@router.get("/v1/acceptance/plan", summary="ISO 2859-1 sampling plan for a lot size")
async def sampling_plan(
    lot_size: Annotated[int, Query(ge=1)],
    aql: str = "1.0",
) -> dict[str, Any]:
    """General inspection level II, single sampling, normal inspection."""
    try:
        plan = single_sampling_plan(lot_size, aql)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {
        "lot_size": plan.lot_size,
        "aql": plan.aql,
        "code_letter": plan.code_letter,
        "plan_letter": plan.plan_letter,
        "sample_size": plan.sample_size,
        "acceptance_number": plan.acceptance_number,
        "rejection_number": plan.rejection_number,
        "full_inspection": plan.full_inspection,
    }


class OpenLot(BaseModel):
    """A request to open the acceptance lot of a unit and phase."""

    phase: Literal["1", "2", "3", "migration"] = Field(description="The phase accepted.")
    unit_code: str = Field(description="The unit whose accepted records form the lot.")
    aql: str | None = Field(default=None, description="AQL, percent defective (default 1.0).")
    seed: str | None = Field(
        default=None, description="Seed of the random sample; default derived."
    )


class VerdictBody(BaseModel):
    """An inspector's verdict on one sampled record."""

    verdict: Literal["correct", "defective"]
    note: str = Field(default="", max_length=1000, description="What was wrong, if anything.")


def _lot_errors(exc: Exception) -> HTTPException:
    if isinstance(exc, OutOfScope):
        return _forbidden(exc)
    if isinstance(exc, LotNotFound):
        return HTTPException(404, "Không có lô này / No such lot")
    if isinstance(exc, ConflictError):
        return HTTPException(409, "Lô vừa được cập nhật, thử lại / The lot changed, try again")
    return HTTPException(409 if isinstance(exc, LotError) else 422, str(exc))


@router.get("/v1/acceptance/lots", summary="Acceptance lots (nghiệm thu)")
async def list_lots(
    request: Request, principal: Caller, phase: str | None = None
) -> list[dict[str, Any]]:
    """Lots within the caller's scope, with their rounds."""
    result: list[dict[str, Any]] = await deps_of(request).reports.lots(principal, phase)
    return result


@router.post("/v1/acceptance/lots", summary="Open a lot and draw its sample", status_code=201)
async def open_lot(request: Request, principal: Caller, body: OpenLot) -> dict[str, Any]:
    """Sample the unit's accepted records of the phase (ISO 2859-1, level II)."""
    deps = deps_of(request)
    try:
        lot = await deps.acceptance.open_lot(
            principal,
            body.phase,
            body.unit_code,
            aql=body.aql or deps.settings.default_aql,
            seed=body.seed,
        )
    except (OutOfScope, LotError, ValueError, ConflictError) as exc:
        raise _lot_errors(exc) from exc
    return lot_summary(lot, deps.reports.price, with_sample=True)


@router.get("/v1/acceptance/lots/{lot_id}", summary="One lot with its samples")
async def get_lot(request: Request, principal: Caller, lot_id: str) -> dict[str, Any]:
    """A lot, every round's sample and verdicts."""
    deps = deps_of(request)
    try:
        lot = await deps.acceptance.get(principal, lot_id)
    except (OutOfScope, LotNotFound) as exc:
        raise _lot_errors(exc) from exc
    return lot_summary(lot, deps.reports.price, with_sample=True)


@router.put(
    "/v1/acceptance/lots/{lot_id}/items/{record_id}", summary="Record a verdict on a sample"
)
async def put_verdict(
    request: Request, principal: Caller, lot_id: str, record_id: str, body: VerdictBody
) -> dict[str, Any]:
    """Correct or defective against the paper register; the round is decided at the last."""
    deps = deps_of(request)
    try:
        lot = await deps.acceptance.record(principal, lot_id, record_id, body.verdict, body.note)
    except (OutOfScope, LotNotFound, LotError, ConflictError) as exc:
        raise _lot_errors(exc) from exc
    return lot_summary(lot, deps.reports.price, with_sample=True)


@router.post("/v1/acceptance/lots/{lot_id}/resample", summary="Sample a reworked lot again")
async def resample_lot(request: Request, principal: Caller, lot_id: str) -> dict[str, Any]:
    """After a failed round and rework, draw the next round's sample."""
    deps = deps_of(request)
    try:
        lot = await deps.acceptance.resample(principal, lot_id)
    except (OutOfScope, LotNotFound, LotError, ConflictError) as exc:
        raise _lot_errors(exc) from exc
    return lot_summary(lot, deps.reports.price, with_sample=True)

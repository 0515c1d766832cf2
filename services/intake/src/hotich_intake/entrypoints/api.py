"""HTTP routes of intake: thin, each a call into the service layer, each audited."""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, Field, ValidationError

from hotich_contracts.envelope import utcnow
from hotich_contracts.records import RECORD_ADAPTER, Record
from hotich_intake.entrypoints.errors import field_errors, problem
from hotich_intake.service_layer import accounts, imports, records
from hotich_intake.service_layer.ports import AccountAlreadyExists, AuditEntry
from hotich_runtime.auth import InvalidToken, Principal, Role, issue_token, read_token
from hotich_runtime.errors import RetryableError

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
router = APIRouter()

UNAVAILABLE = (
    "Hệ thống tạm thời không nhận được hồ sơ, vui lòng gửi lại sau.",
    "Temporarily unable to accept records; retry later.",
)


def _deps(request: Request) -> Any:
    return request.app.state.runtime.state["deps"]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


async def audit(
    request: Request,
    actor: str,
    unit: str | None,
    action: str,
    outcome: str,
    target: str | None = None,
    **detail: Any,
) -> None:
    """Append one entry to the audit trail (written with concurrent requests' entries)."""
    await _deps(request).audit_entries.submit(
        AuditEntry(
            at=utcnow(),
            actor=actor,
            unit_code=unit,
            action=action,
            target=target,
            outcome=outcome,
            client=_client(request),
            detail=detail,
        )
    )


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    """Verify the token, that the account exists and is not locked (every request), and the rate."""
    deps = _deps(request)
    unauthenticated = {"WWW-Authenticate": "Bearer"}
    if token is None:
        raise HTTPException(401, "Chưa đăng nhập / Not authenticated", headers=unauthenticated)
    try:
        principal = read_token(token, deps.settings.jwt_secret)
    except InvalidToken as exc:
        raise HTTPException(
            401, "Phiên đăng nhập không hợp lệ / Invalid token", headers=unauthenticated
        ) from exc
    try:
        account = await deps.account_lookups.submit(principal.username)
    except RetryableError as exc:
        raise HTTPException(
            503, f"{UNAVAILABLE[0]} / {UNAVAILABLE[1]}", headers={"Retry-After": "5"}
        ) from exc
    if account is None or account.locked:
        raise HTTPException(401, "Tài khoản đã bị khóa / Account locked", headers=unauthenticated)
    wait = deps.limiter.take(account.username, time.monotonic())
    if wait is not None:
        raise HTTPException(
            429,
            "Quá nhiều yêu cầu / Too many requests",
            headers={"Retry-After": f"{max(1, round(wait))}"},
        )
    return Principal(account.username, account.unit_code, account.role)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _require(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise HTTPException(403, "Vai trò không được phép / Role not allowed")


class TokenOut(BaseModel):
    """OAuth2 token answer."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


@router.post(
    "/v1/auth/token",
    tags=["auth"],
    summary="Log in (OAuth2 password flow)",
    responses={
        401: {"description": "Wrong credentials or locked"},
        429: {"description": "Too many failed logins"},
    },
)
async def login(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenOut:
    """Exchange username and password for a bearer token."""
    deps = _deps(request)
    try:
        principal = await accounts.authenticate(deps.accounts, form.username, form.password)
    except accounts.TooManyAttempts as exc:
        await audit(request, form.username, None, "login", "throttled")
        raise HTTPException(
            429,
            "Đăng nhập sai quá nhiều lần, thử lại sau 15 phút / "
            "Too many failed logins, try again in 15 minutes",
            headers={"Retry-After": "900"},
        ) from exc
    except accounts.AuthenticationFailed as exc:
        await audit(request, form.username, None, "login", "failed")
        raise HTTPException(
            401,
            "Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản bị khóa / "
            "Wrong username or password, or account locked",
        ) from exc
    await audit(request, principal.username, principal.unit_code, "login", "ok")
    ttl = timedelta(minutes=deps.settings.token_ttl_minutes)
    return TokenOut(
        access_token=issue_token(principal, deps.settings.jwt_secret, ttl),
        expires_in=int(ttl.total_seconds()),
    )


class Accepted(BaseModel):
    """Answer to a record accepted for processing."""

    record_id: str
    version: int
    status: str = "received"
    status_url: str
    repeated: bool = False


def _status_url(request: Request, record_id: str) -> str:
    return f"{_deps(request).settings.public_base_url}/v1/records/{record_id}"


def _correlation(request: Request) -> str:
    return request.headers.get("X-Correlation-ID") or str(uuid.uuid4())


async def _check_size(request: Request) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > _deps(request).settings.max_body_bytes:
        raise HTTPException(413, "Yêu cầu quá lớn / Request too large")


@router.post(
    "/v1/records",
    status_code=202,
    tags=["records"],
    response_model=Accepted,
    dependencies=[Depends(_check_size)],
    responses={
        403: {"description": "Role may not enter this record"},
        409: {"description": "Key or register coordinates used with another body"},
        413: {"description": "Request or record too large"},
        503: {"description": "Kafka unavailable: retry after Retry-After"},
    },
)
async def post_record(
    request: Request,
    principal: CurrentPrincipal,
    record: Annotated[Record, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """Enter one record; 202 once it is durably in Kafka.

    Retry with the same ``Idempotency-Key`` (or, without one, the same record): the answer
    is the same record id, never a second record.
    """
    deps = _deps(request)
    if principal.role not in records.WRITE_ROLES:
        await audit(request, principal.username, principal.unit_code, "record.create", "forbidden")
        return problem(
            403, "Vai trò này không được nhập hồ sơ.", "This role may not enter records."
        )
    try:
        # Entered together with the other POSTs arriving meanwhile (group commit).
        result = await deps.entries.submit(
            records.Entry(
                principal,
                records.Submission(record, idempotency_key),
                _correlation(request),
            )
        )
    except RetryableError:
        await audit(
            request, principal.username, principal.unit_code, "record.create", "unavailable"
        )
        return problem(503, *UNAVAILABLE, **{"Retry-After": "5"})
    await audit(
        request,
        principal.username,
        principal.unit_code,
        "record.create",
        result.outcome,
        target=result.record_id,
    )
    if result.outcome == "forbidden":
        return problem(403, result.message_vi or "", result.message_en or "")
    if result.outcome == "too_large":
        return problem(413, *records.TOO_LARGE)
    if result.outcome == "conflict":
        return JSONResponse(
            status_code=409,
            content={
                "message_vi": result.message_vi,
                "message_en": result.message_en,
                "record_id": result.record_id,
            },
        )
    assert result.record_id is not None
    url = _status_url(request, result.record_id)
    return JSONResponse(
        status_code=202,
        headers={"Location": url},
        content=Accepted(
            record_id=result.record_id,
            version=result.version or 1,
            status_url=url,
            repeated=result.outcome == "repeated",
        ).model_dump(),
    )


class BatchItem(BaseModel):
    """One record of a batch, validated on its own so one bad item does not fail the rest."""

    record: dict[str, Any]
    idempotency_key: str | None = Field(default=None, max_length=200)


class BatchIn(BaseModel):
    """Up to 1,000 records."""

    items: list[BatchItem] = Field(min_length=1)


class _ValidBatchItem(BaseModel):
    record: Record
    idempotency_key: str | None = Field(default=None, max_length=200)


class _ValidBatch(BaseModel):
    """A batch whose every record is valid: the common case, read in one pass."""

    items: list[_ValidBatchItem] = Field(min_length=1)


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON Schema with its definitions inlined (for an OpenAPI body)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return dict(inline(schema))


def _read_batch(
    raw: bytes, max_items: int
) -> tuple[int, list[tuple[int, records.Submission]], dict[int, Any]]:
    """The batch's size, its valid records and the reasons of its invalid ones, by index.

    A batch of more than ``max_items`` is not read item by item (the caller refuses it).

    The body is validated straight from its bytes, records included (one pass, no
    intermediate dicts: about a quarter less CPU per record than parsing the JSON, then
    each record). Only when a record is invalid is it read again item by item, to answer
    each item on its own.

    Raises:
        RequestValidationError: the body is not a batch (not JSON, no items...).
    """
    with contextlib.suppress(ValidationError):  # an invalid record: read item by item
        batch = _ValidBatch.model_validate_json(raw)
        return (
            len(batch.items),
            [
                (i, records.Submission(item.record, item.idempotency_key))
                for i, item in enumerate(batch.items)
            ],
            {},
        )
    try:
        loose = BatchIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc
    valid: list[tuple[int, records.Submission]] = []
    invalid: dict[int, Any] = {}
    if len(loose.items) > max_items:
        return len(loose.items), valid, invalid
    for index, item in enumerate(loose.items):
        try:
            record = RECORD_ADAPTER.validate_python(item.record)
        except ValidationError as exc:
            invalid[index] = field_errors(exc.errors())
        else:
            valid.append((index, records.Submission(record, item.idempotency_key)))
    return len(loose.items), valid, invalid


@router.post(
    "/v1/records/batch",
    tags=["records"],
    dependencies=[Depends(_check_size)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(BatchIn)}},
        }
    },
    responses={
        413: {"description": "More records than allowed"},
        422: {"description": "The body is not a batch; an invalid record is answered per item"},
        503: {"description": "Kafka unavailable: nothing was written"},
    },
)
async def post_batch(request: Request, principal: CurrentPrincipal) -> Any:
    """Enter up to 1,000 records; a result per item.

    Each item's outcome: created, repeated, conflict, invalid, forbidden or too_large.
    """
    deps = _deps(request)
    size, valid, invalid = _read_batch(await request.body(), deps.settings.max_batch)
    if size > deps.settings.max_batch:
        return problem(
            413,
            f"Tối đa {deps.settings.max_batch} hồ sơ mỗi lô.",
            f"At most {deps.settings.max_batch} records per batch.",
        )
    results: list[dict[str, Any]] = [{} for _ in range(size)]
    for index, errors in invalid.items():
        results[index] = {"index": index, "outcome": "invalid", "record_id": None, "errors": errors}
    try:
        outcomes = await records.submit_records(
            deps.records,
            deps.publisher,
            principal,
            [s for _, s in valid],
            correlation_id=_correlation(request),
        )
    except records.NotAllowed:
        return problem(
            403, "Vai trò này không được nhập hồ sơ.", "This role may not enter records."
        )
    except RetryableError:
        await audit(
            request,
            principal.username,
            principal.unit_code,
            "record.batch",
            "unavailable",
            detail={"items": size},
        )
        return problem(503, *UNAVAILABLE, **{"Retry-After": "5"})
    for (index, _), outcome in zip(valid, outcomes, strict=True):
        results[index] = {
            "index": index,
            "outcome": outcome.outcome,
            "record_id": outcome.record_id,
            "message_vi": outcome.message_vi,
            "message_en": outcome.message_en,
        }
    counts: dict[str, int] = {}
    for row in results:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    await audit(
        request, principal.username, principal.unit_code, "record.batch", "ok", detail=counts
    )
    return {"counts": counts, "results": results}


@router.put(
    "/v1/records/{record_id}",
    status_code=202,
    tags=["records"],
    response_model=Accepted,
    dependencies=[Depends(_check_size)],
    responses={
        404: {"description": "No such record in your unit"},
        409: {"description": "Another correction landed first"},
        413: {"description": "Request or record too large"},
    },
)
async def put_record(
    request: Request, record_id: str, principal: CurrentPrincipal, record: Annotated[Record, Body()]
) -> Any:
    """Enter a corrected version of one of your unit's records; it is validated again."""
    deps = _deps(request)
    try:
        result = await records.correct_record(
            deps.records,
            deps.publisher,
            principal,
            record_id,
            record,
            correlation_id=_correlation(request),
        )
    except records.NotAllowed:
        outcome, answer = (
            "forbidden",
            problem(403, "Vai trò này không được sửa hồ sơ.", "This role may not correct records."),
        )
    except records.RecordTooLarge:
        outcome, answer = "too_large", problem(413, *records.TOO_LARGE)
    except records.NotFound:
        outcome, answer = (
            "not_found",
            problem(404, "Không tìm thấy hồ sơ của đơn vị.", "No such record in your unit."),
        )
    except records.VersionConflict:
        outcome, answer = (
            "conflict",
            problem(
                409,
                "Hồ sơ vừa được sửa bởi người khác; tải lại.",
                "The record was just corrected by someone else; reload it.",
            ),
        )
    except RetryableError:
        outcome, answer = "unavailable", problem(503, *UNAVAILABLE, **{"Retry-After": "5"})
    else:
        await audit(
            request,
            principal.username,
            principal.unit_code,
            "record.correct",
            "ok",
            target=record_id,
            detail={"version": result.version},
        )
        url = _status_url(request, record_id)
        return JSONResponse(
            status_code=202,
            headers={"Location": url},
            content=Accepted(
                record_id=record_id, version=result.version or 1, status_url=url
            ).model_dump(),
        )
    await audit(
        request,
        principal.username,
        principal.unit_code,
        "record.correct",
        outcome,
        target=record_id,
    )
    return answer


@router.get("/v1/records/{record_id}", tags=["records"])
async def get_record(request: Request, record_id: str, principal: CurrentPrincipal) -> Any:
    """Status, phase, reasons (Vietnamese and English), national id and history of a record."""
    deps = _deps(request)
    view = await records.get_record(deps.records, deps.registry, principal, record_id)
    await audit(
        request,
        principal.username,
        principal.unit_code,
        "record.read",
        "ok" if view else "not_found",
        target=record_id,
    )
    if view is None:
        return problem(404, "Không tìm thấy hồ sơ.", "No such record.")
    return JSONResponse(jsonable_encoder(asdict(view)))


@router.get("/v1/records", tags=["records"])
async def list_records(
    request: Request,
    principal: CurrentPrincipal,
    status: str | None = None,
    phase: str | None = None,
    record_type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: str | None = None,
) -> Any:
    """Records of the caller's scope, filtered and paged by ``after`` (a record id)."""
    deps = _deps(request)
    phase_value: int | str | None = int(phase) if phase and phase.isdigit() else phase
    views = await records.list_records(
        deps.records,
        deps.registry,
        principal,
        filters={"status": status, "phase": phase_value, "record_type": record_type},
        limit=limit,
        after=after,
    )
    await audit(
        request,
        principal.username,
        principal.unit_code,
        "record.list",
        "ok",
        detail={"count": len(views)},
    )
    items = []
    for view in views:
        row = asdict(view)
        row.pop("history", None)
        items.append(row)
    return JSONResponse(
        jsonable_encoder(
            {"items": items, "next_after": items[-1]["record_id"] if len(items) == limit else None}
        )
    )


@router.post(
    "/v1/imports",
    tags=["imports"],
    responses={503: {"description": "Kafka unavailable: resume from lines_committed"}},
)
async def post_import(
    request: Request,
    principal: CurrentPrincipal,
    job_id: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9._-]+$")] = None,
    resume_from_line: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """Import NDJSON (one record per line), streamed; safe to resend or resume.

    Progress is visible at ``GET /v1/imports/{job_id}`` while the upload runs (choose the
    ``job_id`` yourself to poll it). After an interruption, send the file again with
    ``resume_from_line`` = the job's ``lines_committed`` (or all of it: lines already
    imported are recognised by their register coordinates).
    """
    _require(principal, Role.MIGRATION_OPERATOR, Role.CLERK)
    deps = _deps(request)
    job = job_id or uuid.uuid4().hex
    try:
        summary = await imports.run_import(
            deps.records,
            deps.jobs,
            deps.publisher,
            principal,
            imports.ndjson_lines(request.stream()),
            job_id=job,
            resume_from_line=resume_from_line,
            chunk_size=deps.settings.import_chunk,
            in_flight=deps.settings.import_in_flight,
            correlation_id=_correlation(request),
        )
    except RetryableError:
        try:
            done = await deps.jobs.get(job)
        except RetryableError:  # the store is what failed: resending from line 0 is safe
            done = None
        await audit(
            request, principal.username, principal.unit_code, "import", "interrupted", target=job
        )
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": "5"},
            content={
                "message_vi": UNAVAILABLE[0],
                "message_en": UNAVAILABLE[1],
                "job_id": job,
                "lines_committed": (done or {}).get("lines_committed", 0),
            },
        )
    await audit(
        request,
        principal.username,
        principal.unit_code,
        "import",
        "ok",
        target=job,
        detail={"submitted": summary.submitted, "errors": summary.error_count},
    )
    return asdict(summary)


@router.get("/v1/imports/{job_id}", tags=["imports"])
async def get_import(request: Request, job_id: str, principal: CurrentPrincipal) -> Any:
    """Progress and per-line errors of an import job."""
    job = await _deps(request).jobs.get(job_id)
    if job is None or (job["owner"] != principal.username and principal.role != Role.ADMIN):
        return problem(404, "Không có đợt nhập này.", "No such import job.")
    job["job_id"] = job.pop("_id")
    return JSONResponse(jsonable_encoder(job))


class AccountIn(BaseModel):
    """A new account."""

    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-zA-Z0-9._-]+$")
    password: str = Field(min_length=8, max_length=256)
    unit_code: str = Field(max_length=10)
    role: Role


class PasswordIn(BaseModel):
    """A new password."""

    password: str = Field(min_length=8, max_length=256)


@router.post("/v1/accounts", status_code=201, tags=["accounts"])
async def create_account(request: Request, body: AccountIn, principal: CurrentPrincipal) -> Any:
    """Create an account (Department admin)."""
    _require(principal, Role.ADMIN)
    deps = _deps(request)
    try:
        account = await accounts.create_account(
            deps.accounts,
            deps.registry,
            username=body.username,
            password=body.password,
            unit_code=body.unit_code,
            role=body.role,
        )
    except accounts.UnknownUnit:
        outcome, answer = (
            "unknown_unit",
            problem(422, "Mã đơn vị không tồn tại.", "Unknown unit code."),
        )
    except AccountAlreadyExists:
        outcome, answer = (
            "exists",
            problem(409, "Tên đăng nhập đã tồn tại.", "Username already exists."),
        )
    else:
        await audit(
            request,
            principal.username,
            principal.unit_code,
            "account.create",
            "ok",
            target=body.username,
            detail={"role": body.role.value, "unit": body.unit_code},
        )
        return {"username": account.username, "unit_code": account.unit_code, "role": account.role}
    await audit(
        request,
        principal.username,
        principal.unit_code,
        "account.create",
        outcome,
        target=body.username,
    )
    return answer


@router.get("/v1/accounts", tags=["accounts"])
async def list_accounts(request: Request, principal: CurrentPrincipal) -> Any:
    """List accounts (Department admin)."""
    _require(principal, Role.ADMIN)
    return [
        {"username": a.username, "unit_code": a.unit_code, "role": a.role, "locked": a.locked}
        for a in await _deps(request).accounts.list()
    ]


@router.post("/v1/accounts/{username}/password", status_code=204, tags=["accounts"])
async def reset_password(
    request: Request, username: str, body: PasswordIn, principal: CurrentPrincipal
) -> Response:
    """Set a new password for an account (Department admin)."""
    _require(principal, Role.ADMIN)
    found = await accounts.reset_password(_deps(request).accounts, username, body.password)
    await audit(
        request,
        principal.username,
        principal.unit_code,
        "account.password",
        "ok" if found else "not_found",
        target=username,
    )
    if not found:
        return problem(404, "Không có tài khoản này.", "No such account.")
    return Response(status_code=204)


@router.post("/v1/accounts/{username}/{action}", status_code=204, tags=["accounts"])
async def lock_account(
    request: Request, username: str, action: Literal["lock", "unlock"], principal: CurrentPrincipal
) -> Response:
    """Lock or unlock an account; a locked account is refused from its next request."""
    _require(principal, Role.ADMIN)
    found = await accounts.set_locked(_deps(request).accounts, username, action == "lock")
    await audit(
        request,
        principal.username,
        principal.unit_code,
        f"account.{action}",
        "ok" if found else "not_found",
        target=username,
    )
    if not found:
        return problem(404, "Không có tài khoản này.", "No such account.")
    return Response(status_code=204)


@router.get("/v1/audit", tags=["audit"])
async def get_audit(
    request: Request,
    principal: CurrentPrincipal,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The audit trail, newest first (Department officers and admins)."""
    _require(principal, Role.DEPARTMENT_OFFICER, Role.ADMIN)
    entries = await _deps(request).audit.query(actor=actor, action=action, since=since, limit=limit)
    return JSONResponse(jsonable_encoder([asdict(e) for e in entries]))

"""HTTP routes of intake: thin, each a call into the service layer."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from hotich_contracts.records import Record
from hotich_intake.entrypoints.errors import problem
from hotich_intake.service_layer import accounts, records
from hotich_intake.service_layer.ports import AccountAlreadyExists, IdempotencyConflict
from hotich_runtime.auth import InvalidToken, Principal, Role, issue_token, read_token
from hotich_runtime.errors import RetryableError

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
router = APIRouter()


def _deps(request: Request) -> Any:
    return request.app.state.runtime.state["deps"]


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    """Verify the token and that the account still exists and is not locked (every request)."""
    deps = _deps(request)
    if token is None:
        raise HTTPException(
            401, "Chưa đăng nhập / Not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        principal = read_token(token, deps.settings.jwt_secret)
    except InvalidToken as exc:
        raise HTTPException(
            401,
            "Phiên đăng nhập không hợp lệ / Invalid token",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
    account = await deps.accounts.get(principal.username)
    if account is None or account.locked:
        raise HTTPException(
            401, "Tài khoản đã bị khóa / Account locked", headers={"WWW-Authenticate": "Bearer"}
        )
    return Principal(account.username, account.unit_code, account.role)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class TokenOut(BaseModel):
    """OAuth2 token answer."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


@router.post("/v1/auth/token", tags=["auth"], summary="Log in (OAuth2 password flow)")
async def login(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenOut:
    """Exchange username and password for a bearer token."""
    deps = _deps(request)
    try:
        principal = await accounts.authenticate(deps.accounts, form.username, form.password)
    except accounts.AuthenticationFailed as exc:
        raise HTTPException(
            401,
            "Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản bị khóa / "
            "Wrong username or password, or account locked",
        ) from exc
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


@router.post(
    "/v1/records",
    status_code=202,
    tags=["records"],
    response_model=Accepted,
    responses={
        409: {"description": "Idempotency key reused with another body"},
        503: {"description": "Kafka unavailable: retry after Retry-After"},
    },
)
async def post_record(
    request: Request,
    principal: CurrentPrincipal,
    record: Annotated[Record, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """Enter one record; 202 once it is durably in Kafka."""
    deps = _deps(request)
    correlation_id = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
    try:
        result = await records.submit_record(
            deps.records,
            deps.publisher,
            principal,
            record,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
        )
    except records.NotAllowed:
        return problem(
            403, "Vai trò này không được nhập hồ sơ.", "This role may not enter records."
        )
    except IdempotencyConflict:
        return problem(
            409,
            "Idempotency-Key đã dùng cho nội dung khác.",
            "Idempotency-Key already used with a different body.",
        )
    except RetryableError:
        return problem(
            503,
            "Hệ thống tạm thời không nhận được hồ sơ, vui lòng gửi lại sau.",
            "Temporarily unable to accept records; retry later.",
            **{"Retry-After": "5"},
        )
    url = f"{deps.settings.public_base_url}/v1/records/{result.record_id}"
    return JSONResponse(
        status_code=202,
        headers={"Location": url, "X-Correlation-ID": correlation_id},
        content=Accepted(
            record_id=result.record_id, version=result.version, status_url=url
        ).model_dump(),
    )


def _view_json(view: Any, *, with_history: bool) -> dict[str, Any]:
    data = asdict(view)
    if not with_history:
        data.pop("history", None)
    return data


@router.get("/v1/records/{record_id}", tags=["records"])
async def get_record(request: Request, record_id: str, principal: CurrentPrincipal) -> Any:
    """Status, phase, reasons (Vietnamese and English), national id and history of a record."""
    deps = _deps(request)
    view = await records.get_record(deps.records, deps.registry, principal, record_id)
    if view is None:
        return problem(404, "Không tìm thấy hồ sơ.", "No such record.")
    return JSONResponse(jsonable(_view_json(view, with_history=True)))


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
    items = [_view_json(v, with_history=False) for v in views]
    return JSONResponse(
        jsonable({"items": items, "next_after": items[-1]["record_id"] if items else None})
    )


class AccountIn(BaseModel):
    """A new account."""

    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-zA-Z0-9._-]+$")
    password: str = Field(min_length=8, max_length=256)
    unit_code: str
    role: Role


def _require_admin(principal: Principal) -> None:
    if principal.role != Role.ADMIN:
        raise HTTPException(403, "Chỉ quản trị viên / Admins only")


@router.post("/v1/accounts", status_code=201, tags=["accounts"])
async def create_account(request: Request, body: AccountIn, principal: CurrentPrincipal) -> Any:
    """Create an account (Department admin)."""
    _require_admin(principal)
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
        return problem(422, "Mã đơn vị không tồn tại.", "Unknown unit code.")
    except AccountAlreadyExists:
        return problem(409, "Tên đăng nhập đã tồn tại.", "Username already exists.")
    return {"username": account.username, "unit_code": account.unit_code, "role": account.role}


@router.get("/v1/accounts", tags=["accounts"])
async def list_accounts(request: Request, principal: CurrentPrincipal) -> Any:
    """List accounts (Department admin)."""
    _require_admin(principal)
    return [
        {"username": a.username, "unit_code": a.unit_code, "role": a.role, "locked": a.locked}
        for a in await _deps(request).accounts.list()
    ]


@router.post("/v1/accounts/{username}/{action}", tags=["accounts"])
async def lock_account(
    request: Request, username: str, action: Literal["lock", "unlock"], principal: CurrentPrincipal
) -> Any:
    """Lock or unlock an account; a locked account is refused from its next request."""
    _require_admin(principal)
    if not await accounts.set_locked(_deps(request).accounts, username, action == "lock"):
        return problem(404, "Không có tài khoản này.", "No such account.")
    return Response(status_code=204)


def jsonable(data: Any) -> Any:
    """Encode datetimes and the like for JSON."""
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(data)

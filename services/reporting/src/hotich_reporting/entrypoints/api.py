"""HTTP routes of reporting."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from hotich_reporting.service_layer import queries
from hotich_runtime.auth import InvalidToken, Principal, read_token

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
router = APIRouter(tags=["reports"])


def _deps(request: Request) -> Any:
    return request.app.state.runtime.state["deps"]


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    """Verify a bearer token issued by intake."""
    if token is None:
        raise HTTPException(
            401, "Chưa đăng nhập / Not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        return read_token(token, _deps(request).settings.jwt_secret)
    except InvalidToken as exc:
        raise HTTPException(
            401,
            "Phiên đăng nhập không hợp lệ / Invalid token",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


@router.get("/v1/progress", summary="Progress per unit, type and phase (tiến độ)")
async def get_progress(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    phase: str | None = None,
    unit_code: str | None = None,
) -> dict[str, Any]:
    """Counts by status, rolled up the unit tree, within the caller's scope."""
    deps = _deps(request)
    try:
        return await queries.progress(
            deps.projection, deps.registry, principal, phase=phase, unit_code=unit_code
        )
    except queries.OutOfScope as exc:
        raise HTTPException(403, "Ngoài phạm vi đơn vị / Outside your unit's scope") from exc

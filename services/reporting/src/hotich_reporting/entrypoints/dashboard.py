"""The dashboard page (bảng theo dõi tiến độ).

One HTML page, its script and style, and a login form that gets a token from intake
and keeps it in an HttpOnly cookie.

Everything is served by reporting itself (no CDN: the machines may have no internet);
the page calls the same JSON API as any client, with the cookie.
"""

from __future__ import annotations

from importlib import resources
from typing import Protocol
from urllib.parse import parse_qs

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hotich_reporting.entrypoints.api import COOKIE, deps_of

__all__ = ["IntakeTokens", "TokenIssuer", "router"]

router = APIRouter(tags=["dashboard"], include_in_schema=False)

_STATIC = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class TokenIssuer(Protocol):
    """Exchanges a username and password for a bearer token (intake does)."""

    async def token(self, username: str, password: str) -> str | None:
        """The token, or None when the credentials are refused."""


class IntakeTokens:
    """Intake's OAuth2 password flow (``POST /v1/auth/token``) over HTTP."""

    def __init__(self, intake_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = intake_url.rstrip("/")
        self._transport = transport

    async def token(self, username: str, password: str) -> str | None:
        """Ask intake; None on refusal or when intake cannot be reached."""
        try:
            async with httpx.AsyncClient(timeout=10.0, transport=self._transport) as client:
                response = await client.post(
                    f"{self._url}/v1/auth/token",
                    data={"username": username, "password": password},
                )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        token = response.json().get("access_token")
        return token if isinstance(token, str) else None


def _static(name: str) -> str:
    return (resources.files("hotich_reporting.entrypoints") / "static" / name).read_text("utf-8")


@router.get("/dashboard")
async def dashboard() -> HTMLResponse:
    """The dashboard page."""
    return HTMLResponse(_static("dashboard.html"), headers=_SECURITY_HEADERS)


@router.get("/dashboard/static/{name}")
async def static(name: str) -> Response:
    """The page's script and style."""
    media_type = _STATIC.get(name)
    if media_type is None:
        return Response(status_code=404)
    return Response(_static(name), media_type=media_type, headers=_SECURITY_HEADERS)


@router.post("/dashboard/session")
async def login(request: Request) -> RedirectResponse:
    """Log in through intake; keep the token in an HttpOnly, SameSite=Strict cookie."""
    # The form is URL-encoded: parsed here, so no multipart parser is needed.
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    username = (form.get("username") or [""])[0]
    password = (form.get("password") or [""])[0]
    issuer: TokenIssuer = deps_of(request).tokens
    token = await issuer.token(username, password) if username and password else None
    if token is None:
        return RedirectResponse("/dashboard?error=1", status_code=303)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.post("/dashboard/logout")
async def logout() -> RedirectResponse:
    """Forget the cookie."""
    response = RedirectResponse("/dashboard", status_code=303)
    response.delete_cookie(COOKIE)
    return response

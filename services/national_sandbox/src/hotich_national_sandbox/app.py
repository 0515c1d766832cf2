"""A sandbox of the national electronic civil status database (CSDL hộ tịch điện tử toàn quốc).

Same contract as the export service's client expects: create a record with an
idempotency key, read it back, list by unit, update a corrected version; plus faults
that can be switched on at run time, and counts for "exactly once" checks.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hotich_national_sandbox.config import Faults, SandboxSettings
from hotich_national_sandbox.store import SandboxStore, Stored

REQUIRED_FIELDS = ("record_type", "registration_date", "book_number", "entry_number")
"""The national-level rule: a record lacking any of these is refused."""


class CreateRecord(BaseModel):
    """A record sent for creation."""

    model_config = ConfigDict(extra="forbid")

    unit_code: str = Field(description="Unit that entered it.")
    source_record_id: str = Field(description="The sender's own id (hotich record id).")
    source_version: int = Field(ge=1)
    record: dict[str, Any] = Field(description="The record as the province holds it.")


class RecordOut(BaseModel):
    """A record as the national database holds it."""

    national_id: str
    idempotency_key: str
    unit_code: str | None
    record_type: str | None
    created_at: str
    updated_at: str
    version: int
    body: dict[str, Any]


def _out(stored: Stored) -> RecordOut:
    return RecordOut(**stored.__dict__)


class _RateLimiter:
    def __init__(self) -> None:
        self.window_start = time.monotonic()
        self.count = 0

    def retry_after(self, per_s: float) -> float | None:
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.count = now, 0
        self.count += 1
        if self.count > per_s:
            return max(0.05, 1.0 - (now - self.window_start))
        return None


def _store(request: Request) -> SandboxStore:
    return request.app.state.store  # type: ignore[no-any-return]


Store = Annotated[SandboxStore, Depends(_store)]


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """Return the sandbox app."""
    cfg = settings or SandboxSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = SandboxStore(cfg.db_path)
        app.state.faults = Faults()
        app.state.limiter = _RateLimiter()
        yield
        app.state.store.close()

    app = FastAPI(title="National civil status database (sandbox)", lifespan=lifespan)

    async def client(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
        if x_api_key != cfg.api_key:
            raise HTTPException(401, "invalid API key")
        faults: Faults = request.app.state.faults
        if faults.outage:
            raise HTTPException(503, "national database unavailable (outage)")
        if faults.latency_ms or faults.latency_jitter_ms:
            jitter = random.uniform(-faults.latency_jitter_ms, faults.latency_jitter_ms)
            await asyncio.sleep(max(0.0, faults.latency_ms + jitter) / 1000)
        if faults.timeout_rate and random.random() < faults.timeout_rate:
            await asyncio.sleep(faults.timeout_s)
        if faults.error_rate and random.random() < faults.error_rate:
            raise HTTPException(random.choice((500, 503)), "injected error")

    def admin(x_admin_key: Annotated[str | None, Header()] = None) -> None:
        if x_admin_key != cfg.admin_key:
            raise HTTPException(401, "invalid admin key")

    @app.post("/v1/records", status_code=201, dependencies=[Depends(client)])
    async def create(
        body: CreateRecord, request: Request, db: Store, idempotency_key: Annotated[str, Header()]
    ) -> JSONResponse:
        faults: Faults = request.app.state.faults
        if faults.rate_limit_per_s:
            wait = request.app.state.limiter.retry_after(faults.rate_limit_per_s)
            if wait is not None:
                return JSONResponse(
                    {"detail": "rate limited"},
                    status_code=429,
                    headers={"Retry-After": f"{wait:.2f}"},
                )
        existing = db.by_key(idempotency_key)
        if existing is not None:
            return JSONResponse(
                {"national_id": existing.national_id, "detail": "already created"}, status_code=409
            )
        missing = [f for f in REQUIRED_FIELDS if not body.record.get(f)]
        if missing or (faults.reject_rate and random.random() < faults.reject_rate):
            reason = f"missing fields: {', '.join(missing)}" if missing else "rejected (injected)"
            return JSONResponse({"detail": reason, "code": "invalid_record"}, status_code=422)
        stored, created = db.create(
            idempotency_key, body.unit_code, body.record.get("record_type"), body.model_dump()
        )
        if not created:
            return JSONResponse(
                {"national_id": stored.national_id, "detail": "already created"}, status_code=409
            )
        if faults.lost_response_rate and random.random() < faults.lost_response_rate:
            return JSONResponse({"detail": "bad gateway (response lost)"}, status_code=502)
        return JSONResponse(
            {"national_id": stored.national_id, "created_at": stored.created_at}, status_code=201
        )

    @app.get("/v1/records/{national_id}", dependencies=[Depends(client)])
    async def read(national_id: str, db: Store) -> RecordOut:
        stored = db.get(national_id)
        if stored is None:
            raise HTTPException(404, "no such record")
        return _out(stored)

    @app.put("/v1/records/{national_id}", dependencies=[Depends(client)])
    async def update(national_id: str, body: CreateRecord, db: Store) -> RecordOut:
        stored = db.update(national_id, body.model_dump())
        if stored is None:
            raise HTTPException(404, "no such record")
        return _out(stored)

    @app.get("/v1/records", dependencies=[Depends(client)])
    async def list_unit(
        unit_code: str, db: Store, after: int = 0, limit: int = 100
    ) -> dict[str, Any]:
        rows = db.list_unit(unit_code, min(limit, 1000), after)
        return {"items": [_out(s) for _, s in rows], "next_after": rows[-1][0] if rows else None}

    @app.get("/v1/stats")
    async def stats(db: Store) -> dict[str, Any]:
        return db.stats()

    @app.get("/admin/faults", dependencies=[Depends(admin)])
    async def get_faults(request: Request) -> Faults:
        return request.app.state.faults  # type: ignore[no-any-return]

    @app.put("/admin/faults", dependencies=[Depends(admin)])
    async def set_faults(faults: Faults, request: Request) -> Faults:
        request.app.state.faults = faults
        return faults

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    """Serve the sandbox with settings from the environment."""
    import uvicorn

    cfg = SandboxSettings()
    uvicorn.run(
        "hotich_national_sandbox.app:create_app",
        factory=True,
        host=cfg.http_host,
        port=cfg.http_port,
        log_level="warning",
        access_log=False,
    )

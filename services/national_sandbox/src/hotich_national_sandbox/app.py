"""A sandbox of the national electronic civil status database (CSDL hộ tịch điện tử toàn quốc).

The contract the export service relies on:

* ``POST /v1/records`` with ``Idempotency-Key``: create; ``201`` with the national id, or
  ``409`` with the *existing* national id when the key was used before, or ``422`` with a
  reason when the record fails the national rule.
* ``PUT /v1/records/{national_id}`` with ``Idempotency-Key``: a corrected version; ``200``,
  or ``409`` when the key was applied before or a newer version is held.
* ``GET /v1/records/{national_id}``, ``GET /v1/records/by-key/{key}``,
  ``GET /v1/records?unit_code=...`` (paged): read back.
* ``GET /v1/stats``: counts of what is held and of what was answered.
* Auth: ``X-API-Key``, or a bearer token from ``POST /oauth/token`` (client credentials).
* ``/admin/faults``, ``/admin/rules``: faults and the national rule, switched at run time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hotich_national_sandbox.config import (
    Faults,
    Rules,
    SandboxSettings,
    faults_from_env,
    rules_from_env,
)
from hotich_national_sandbox.faults import FaultState
from hotich_national_sandbox.store import SandboxStore, Stored, UpdateOutcome


class CreateRecord(BaseModel):
    """A record sent for creation, or a corrected version of it for an update."""

    model_config = ConfigDict(extra="forbid")

    unit_code: str = Field(description="Unit that entered it.")
    source_record_id: str = Field(description="The sender's own id (hotich record id).")
    source_version: int = Field(ge=1, description="The sender's version of the record.")
    record: dict[str, Any] = Field(description="The record as the province holds it.")


class RecordOut(BaseModel):
    """A record as the national database holds it."""

    national_id: str
    idempotency_key: str = Field(description="Key of the write that created it.")
    unit_code: str | None
    record_type: str | None
    source_record_id: str | None
    source_version: int | None = Field(description="The sender's version held now.")
    created_at: str
    updated_at: str
    version: int = Field(description="Revision: 1 as created, +1 per applied update.")
    keys: list[str] = Field(description="Idempotency keys of every applied write, oldest first.")
    body: dict[str, Any]


class RecordPage(BaseModel):
    """A page of a unit's records."""

    items: list[RecordOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null at end.")


def _out(stored: Stored) -> RecordOut:
    return RecordOut(
        national_id=stored.national_id,
        idempotency_key=stored.idempotency_key,
        unit_code=stored.unit_code,
        record_type=stored.record_type,
        source_record_id=stored.source_record_id,
        source_version=stored.source_version,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        version=stored.version,
        keys=stored.keys,
        body=stored.body,
    )


def missing_fields(record: dict[str, Any], rules: Rules) -> list[str]:
    """The rule's required fields (dotted paths) that ``record`` lacks or leaves empty."""
    missing = []
    for path in rules.required_fields:
        value: Any = record
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or value == "" or value == [] or value == {}:
            missing.append(path)
    return missing


# Dependencies are coroutines: FastAPI runs plain functions in a thread pool, a thread
# hop per dependency per request, which cost more than the whole request otherwise.
async def _store(request: Request) -> SandboxStore:
    return request.app.state.store  # type: ignore[no-any-return]


async def _faults(request: Request) -> FaultState:
    return request.app.state.faults  # type: ignore[no-any-return]


Store = Annotated[SandboxStore, Depends(_store)]
FaultsNow = Annotated[FaultState, Depends(_faults)]
IdempotencyKey = Annotated[str | None, Header()]


def _conflict(national_id: str, detail: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"national_id": national_id, "detail": detail, "code": code}, status_code=409
    )


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """Return the sandbox app (store, faults and rule are built in its lifespan)."""
    cfg = settings or SandboxSettings()
    tokens: dict[str, float] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = SandboxStore(cfg.db_path)
        app.state.faults = FaultState(faults_from_env())
        app.state.rules = rules_from_env()
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(
        title="National civil status database (sandbox)",
        description=__doc__ or "",
        lifespan=lifespan,
        # No OpenTelemetry here: FastAPI would otherwise check for it on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )

    async def authenticate(
        request: Request,
        x_api_key: Annotated[str | None, Header()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> None:
        if x_api_key is not None and secrets.compare_digest(x_api_key, cfg.api_key):
            return
        if authorization and authorization.lower().startswith("bearer "):
            expiry = tokens.get(authorization[7:].strip())
            if expiry is not None and expiry > time.monotonic():
                return
        (await _faults(request)).counters["unauthorized"] += 1
        raise HTTPException(401, "invalid API key or token")

    async def client(request: Request) -> None:
        """The faults every client request meets before it is handled (after auth)."""
        state: FaultState = request.app.state.faults
        if state.outage_remaining_s() is not None:
            state.counters["outage_refused"] += 1
            raise HTTPException(503, "national database unavailable (outage)")
        delay = state.latency_s()
        if delay:
            await asyncio.sleep(delay)
        if state.hit(state.faults.timeout_rate):
            state.counters["timeouts"] += 1
            await asyncio.sleep(state.faults.timeout_s)
            raise HTTPException(504, "timed out (injected)")
        status = state.injected_status()
        if status is not None:
            state.counters["injected_errors"] += 1
            raise HTTPException(status, "injected error")

    async def admin(x_admin_key: Annotated[str | None, Header()] = None) -> None:
        if x_admin_key is None or not secrets.compare_digest(x_admin_key, cfg.admin_key):
            raise HTTPException(401, "invalid admin key")

    def rate_limited(state: FaultState) -> JSONResponse | None:
        wait = state.rate_limited()
        if wait is None:
            return None
        state.counters["rate_limited"] += 1
        return JSONResponse(
            {"detail": "rate limited", "code": "rate_limited"},
            status_code=429,
            headers={"Retry-After": f"{math.ceil(wait * 100) / 100:.2f}"},
        )

    def refused(request: Request, state: FaultState, record: dict[str, Any]) -> JSONResponse | None:
        missing = missing_fields(record, request.app.state.rules)
        if not missing and not state.hit(state.faults.reject_rate):
            return None
        state.counters["rejected"] += 1
        reason = (
            f"missing or empty fields: {', '.join(missing)}"
            if missing
            else "record refused by the national rule (injected)"
        )
        return JSONResponse(
            {"detail": reason, "code": "invalid_record", "fields": missing}, status_code=422
        )

    def lost(state: FaultState) -> JSONResponse | None:
        if not state.hit(state.faults.lost_response_rate):
            return None
        state.counters["lost_responses"] += 1
        return JSONResponse({"detail": "bad gateway (response lost)"}, status_code=502)

    @app.post("/oauth/token", tags=["auth"], summary="Client credentials grant")
    async def token(request: Request) -> dict[str, Any]:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise HTTPException(401, "malformed basic credentials") from exc
        if form.get("grant_type") != "client_credentials":
            raise HTTPException(400, "grant_type must be client_credentials")
        if not (
            client_id
            and secret
            and secrets.compare_digest(client_id, cfg.client_id)
            and secrets.compare_digest(secret, cfg.client_secret)
        ):
            raise HTTPException(401, "invalid client credentials")
        value = secrets.token_urlsafe(32)
        now = time.monotonic()
        for expired in [t for t, exp in tokens.items() if exp <= now]:
            del tokens[expired]
        tokens[value] = now + cfg.token_ttl_s
        return {"access_token": value, "token_type": "bearer", "expires_in": cfg.token_ttl_s}

    @app.post(
        "/v1/records",
        status_code=201,
        dependencies=[Depends(authenticate), Depends(client)],
        tags=["records"],
    )
    async def create(
        body: CreateRecord,
        request: Request,
        db: Store,
        state: FaultsNow,
        idempotency_key: Annotated[str, Header()],
    ) -> JSONResponse:
        """Create a record once per idempotency key; a repeat answers 409 with its id."""
        if (limited := rate_limited(state)) is not None:
            return limited
        existing = db.national_id_of(idempotency_key)
        if existing is not None:
            state.counters["repeated"] += 1
            return _conflict(existing, "already created", "duplicate_key")
        if (refusal := refused(request, state, body.record)) is not None:
            return refusal
        national_id, created_at, created = db.create(idempotency_key, body.model_dump())
        if not created:
            state.counters["repeated"] += 1
            return _conflict(national_id, "already created", "duplicate_key")
        state.counters["created"] += 1
        if (gone := lost(state)) is not None:
            return gone
        return JSONResponse({"national_id": national_id, "created_at": created_at}, status_code=201)

    @app.put(
        "/v1/records/{national_id}",
        dependencies=[Depends(authenticate), Depends(client)],
        tags=["records"],
    )
    async def update(
        national_id: str,
        body: CreateRecord,
        request: Request,
        db: Store,
        state: FaultsNow,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Apply a corrected version once per idempotency key; never an older version."""
        if (limited := rate_limited(state)) is not None:
            return limited
        if idempotency_key is not None and (held := db.national_id_of(idempotency_key)):
            state.counters["repeated"] += 1
            return _conflict(held, "already applied", "duplicate_key")
        if db.get(national_id) is None:
            state.counters["not_found"] += 1
            raise HTTPException(404, "no such record")
        if (refusal := refused(request, state, body.record)) is not None:
            return refusal
        outcome, stored = db.update(national_id, idempotency_key, body.model_dump())
        if outcome is UpdateOutcome.NOT_FOUND or stored is None:
            state.counters["not_found"] += 1
            raise HTTPException(404, "no such record")
        if outcome is UpdateOutcome.REPEATED:
            state.counters["repeated"] += 1
            return _conflict(stored.national_id, "already applied", "duplicate_key")
        if outcome is UpdateOutcome.STALE:
            state.counters["stale"] += 1
            return _conflict(
                stored.national_id,
                f"version {stored.source_version} is held; {body.source_version} is not newer",
                "stale_version",
            )
        state.counters["updated"] += 1
        if (gone := lost(state)) is not None:
            return gone
        return JSONResponse(_out(stored).model_dump(mode="json"), status_code=200)

    @app.get(
        "/v1/records/by-key/{key}",
        dependencies=[Depends(authenticate), Depends(client)],
        tags=["records"],
    )
    async def read_by_key(key: str, db: Store) -> RecordOut:
        """The record a write with this idempotency key was applied to."""
        stored = db.by_key(key)
        if stored is None:
            raise HTTPException(404, "no write with this key")
        return _out(stored)

    @app.get(
        "/v1/records/{national_id}",
        dependencies=[Depends(authenticate), Depends(client)],
        tags=["records"],
    )
    async def read(national_id: str, db: Store) -> RecordOut:
        """Read a record back."""
        stored = db.get(national_id)
        if stored is None:
            raise HTTPException(404, "no such record")
        return _out(stored)

    @app.get("/v1/records", dependencies=[Depends(authenticate), Depends(client)], tags=["records"])
    async def list_unit(unit_code: str, db: Store, after: int = 0, limit: int = 100) -> RecordPage:
        """A unit's records, oldest first, paged with ``after``."""
        rows = db.list_unit(unit_code, max(1, min(limit, 1000)), after)
        return RecordPage(
            items=[_out(s) for s in rows],
            next_after=rows[-1].seq if len(rows) == max(1, min(limit, 1000)) else None,
        )

    @app.get("/v1/stats", dependencies=[Depends(authenticate)], tags=["ops"])
    async def stats(db: Store, state: FaultsNow) -> dict[str, Any]:
        """What is held, and counters of what was answered (faults do not apply here)."""
        return {**db.stats(), "counters": dict(state.counters)}

    @app.get("/admin/faults", dependencies=[Depends(admin)], tags=["admin"])
    async def get_faults(state: FaultsNow) -> dict[str, Any]:
        """The faults in force, and the seconds of outage left."""
        left = state.outage_remaining_s()
        return {
            **state.faults.model_dump(),
            "outage_active": left is not None,
            "outage_remaining_s": None if left is None or math.isinf(left) else round(left, 3),
        }

    @app.put("/admin/faults", dependencies=[Depends(admin)], tags=["admin"])
    async def set_faults(faults: Faults, state: FaultsNow) -> Faults:
        """Replace the faults (``{}`` switches every fault off)."""
        state.set(faults)
        return faults

    @app.patch("/admin/faults", dependencies=[Depends(admin)], tags=["admin"])
    async def patch_faults(changes: dict[str, Any], state: FaultsNow) -> Faults:
        """Change some faults, keep the others."""
        try:
            faults = Faults.model_validate({**state.faults.model_dump(), **changes})
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        state.set(faults)
        return faults

    @app.get("/admin/rules", dependencies=[Depends(admin)], tags=["admin"])
    async def get_rules(request: Request) -> Rules:
        """The national rule in force."""
        return request.app.state.rules  # type: ignore[no-any-return]

    @app.put("/admin/rules", dependencies=[Depends(admin)], tags=["admin"])
    async def set_rules(rules: Rules, request: Request) -> Rules:
        """Replace the national rule."""
        request.app.state.rules = rules
        return rules

    @app.delete("/admin/records/{national_id}", dependencies=[Depends(admin)], tags=["admin"])
    async def forget(national_id: str, db: Store) -> dict[str, bool]:
        """Forget a record: simulates data lost on the national side (for reconciliation)."""
        if not db.delete(national_id):
            raise HTTPException(404, "no such record")
        return {"deleted": True}

    @app.post("/admin/reset", dependencies=[Depends(admin)], tags=["admin"])
    async def reset(db: Store, state: FaultsNow) -> dict[str, bool]:
        """Forget every record and counter and switch faults off (between benchmark runs)."""
        db.reset()
        state.counters.clear()
        state.set(Faults())
        return {"reset": True}

    @app.get("/health/live", tags=["ops"])
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["ops"])
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
        backlog=4096,
    )

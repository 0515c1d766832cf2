"""The httpx national client against the real sandbox app: every answer classified right."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager

from hotich_export.adapters.national_http import HttpNationalDatabase, retry_after_s
from hotich_export.service_layer.ports import (
    NationalRejected,
    NationalThrottled,
    NationalUnavailable,
)
from hotich_national_sandbox.app import create_app
from hotich_national_sandbox.config import SandboxSettings

ADMIN = {"X-Admin-Key": "a"}
RECORD = {
    "record_type": "birth",
    "registration_date": "2010-03-15",
    "book_number": "01/2010",
    "entry_number": "15",
}


@dataclass(frozen=True)
class Sandbox:
    """The sandbox app, reached in process (httpx ASGI transport) or over a socket."""

    url: str
    transport: httpx.AsyncBaseTransport | None
    """None: a real server; the client uses its own keep-alive pool (the hot path)."""


@pytest.fixture(params=["asgi", "socket"])
async def sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sandbox]:
    app = create_app(
        SandboxSettings(db_path=str(tmp_path / "n.sqlite3"), api_key="k", admin_key="a")
    )
    if request.param == "asgi":
        async with LifespanManager(app) as manager:
            yield Sandbox("http://sandbox", httpx.ASGITransport(app=manager.app))
        return
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "the sandbox server did not start"
        await asyncio.sleep(0.01)
    try:
        yield Sandbox(f"http://127.0.0.1:{port}", None)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def national(sandbox: Sandbox) -> AsyncIterator[HttpNationalDatabase]:
    client = HttpNationalDatabase(
        sandbox.url, "k", 5.0, transport=sandbox.transport, page_size=2, max_connections=4
    )
    yield client
    await client.aclose()


async def admin(sandbox: Sandbox, path: str, body: object) -> None:
    async with httpx.AsyncClient(transport=sandbox.transport, base_url=sandbox.url) as c:
        assert (await c.put(path, json=body, headers=ADMIN)).status_code == 200


async def create(national: HttpNationalDatabase, key: str, **record: object) -> object:
    return await national.create(
        idempotency_key=key,
        unit_code="25459",
        record_id=key.split(":")[0],
        version=1,
        record={**RECORD, **record},
    )


async def test_create_then_repeat_carry_the_same_national_id(
    national: HttpNationalDatabase,
) -> None:
    first = await national.create(
        idempotency_key="r:v1", unit_code="25459", record_id="r", version=1, record=RECORD
    )
    again = await national.create(
        idempotency_key="r:v1", unit_code="25459", record_id="r", version=1, record=RECORD
    )
    assert (first.http_status, again.http_status) == (201, 409)
    assert first.national_id == again.national_id
    assert first.response["national_id"] == first.national_id


async def test_update_once_per_key_and_stale_versions_count_as_done(
    national: HttpNationalDatabase,
) -> None:
    first = await national.create(
        idempotency_key="r:v1", unit_code="25459", record_id="r", version=1, record=RECORD
    )

    async def update(key: str, version: int) -> object:
        return await national.update(
            national_id=first.national_id,
            idempotency_key=key,
            unit_code="25459",
            record_id="r",
            version=version,
            record=RECORD,
        )

    applied, repeated, stale = (
        await update("r:v3", 3),
        await update("r:v3", 3),
        await update("r:v2", 2),
    )
    assert [x.http_status for x in (applied, repeated, stale)] == [200, 409, 409]  # type: ignore[attr-defined]
    assert {x.national_id for x in (applied, repeated, stale)} == {first.national_id}  # type: ignore[attr-defined]
    assert stale.response["code"] == "stale_version"  # type: ignore[attr-defined]
    with pytest.raises(NationalRejected) as missing:
        await national.update(
            national_id="VN-00-0000009999",
            idempotency_key="x:v2",
            unit_code="25459",
            record_id="x",
            version=2,
            record=RECORD,
        )
    assert missing.value.status == 404


async def test_a_refused_record_carries_the_national_reason(national: HttpNationalDatabase) -> None:
    with pytest.raises(NationalRejected) as refused:
        await create(national, "bad:v1", entry_number="")
    assert refused.value.status == 422
    assert refused.value.code == "invalid_record"
    assert "entry_number" in refused.value.reason


async def test_rate_limit_is_throttled_with_retry_after(
    national: HttpNationalDatabase, sandbox: Sandbox
) -> None:
    await admin(sandbox, "/admin/faults", {"rate_limit_per_s": 1})
    await create(national, "a:v1")
    with pytest.raises(NationalThrottled) as throttled:
        await create(national, "b:v1")
    assert throttled.value.status == 429
    assert throttled.value.retry_after is not None
    assert 0 < throttled.value.retry_after <= 1


@pytest.mark.parametrize(
    ("faults", "status"),
    [({"outage": True}, 503), ({"error_rate": 1, "error_statuses": [500]}, 500)],
)
async def test_outage_and_server_errors_are_unavailable(
    national: HttpNationalDatabase, sandbox: Sandbox, faults: object, status: int
) -> None:
    await admin(sandbox, "/admin/faults", faults)
    with pytest.raises(NationalUnavailable) as down:
        await create(national, "a:v1")
    assert not isinstance(down.value, NationalThrottled)
    assert down.value.status == status


async def test_a_lost_response_is_unavailable_and_the_retry_gets_the_id(
    national: HttpNationalDatabase, sandbox: Sandbox
) -> None:
    await admin(sandbox, "/admin/faults", {"lost_response_rate": 1})
    with pytest.raises(NationalUnavailable) as lost:
        await create(national, "a:v1")
    assert lost.value.status == 502
    await admin(sandbox, "/admin/faults", {})
    assert (await create(national, "a:v1")).http_status == 409  # type: ignore[attr-defined]


async def test_wrong_credentials_are_retried_not_rejected(sandbox: Sandbox) -> None:
    client = HttpNationalDatabase(sandbox.url, "wrong", 5.0, transport=sandbox.transport)
    try:
        with pytest.raises(NationalUnavailable) as refused:
            await create(client, "a:v1")
        assert refused.value.status == 401
    finally:
        await client.aclose()


async def test_timeouts_and_refused_connections_are_unavailable() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = HttpNationalDatabase("http://n", "k", 0.1, transport=httpx.MockTransport(fail))
    try:
        with pytest.raises(NationalUnavailable, match="unreachable"):
            await create(client, "a:v1")
    finally:
        await client.aclose()


async def test_holdings_page_through_a_unit(national: HttpNationalDatabase) -> None:
    for i in range(5):
        await create(national, f"r{i}:v1", entry_number=str(i))
    held = [h async for h in national.holdings("25459")]
    assert [h.keys for h in held] == [(f"r{i}:v1",) for i in range(5)]
    assert [h.source_record_id for h in held] == [f"r{i}" for i in range(5)]
    assert [h async for h in national.holdings("99999")] == []


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert retry_after_s("2.5") == 2.5
    assert retry_after_s("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30
    assert retry_after_s("soon") is None
    assert retry_after_s(None) is None
    assert retry_after_s("-3") == 0


async def test_listing_asks_again_for_a_page_that_failed() -> None:
    answers = [503, 503, 200]

    def answer(request: httpx.Request) -> httpx.Response:
        status = answers.pop(0)
        if status != 200:
            return httpx.Response(status, json={"detail": "injected error"})
        item = {"national_id": "N1", "idempotency_key": "r:v1", "keys": ["r:v1", "r:v2"]}
        return httpx.Response(200, json={"items": [item], "next_after": None})

    client = HttpNationalDatabase("http://n", "k", 1.0, transport=httpx.MockTransport(answer))
    try:
        held = [h async for h in client.holdings("25459")]
    finally:
        await client.aclose()
    assert [(h.national_id, h.keys) for h in held] == [("N1", ("r:v1", "r:v2"))]
    assert answers == []

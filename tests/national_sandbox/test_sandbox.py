"""The national sandbox's contract: idempotent create, read back, list, faults, counts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from hotich_national_sandbox.app import create_app
from hotich_national_sandbox.config import SandboxSettings

KEY = {"X-API-Key": "k"}
ADMIN = {"X-Admin-Key": "a"}


@pytest.fixture
async def client(tmp_path) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = create_app(
        SandboxSettings(db_path=str(tmp_path / "n.sqlite3"), api_key="k", admin_key="a")
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
            yield c


def body(entry: str = "15") -> dict[str, object]:
    return {
        "unit_code": "25459",
        "source_record_id": "r1",
        "source_version": 1,
        "record": {
            "record_type": "birth",
            "registration_date": "2010-03-15",
            "book_number": "01/2010",
            "entry_number": entry,
        },
    }


async def test_create_is_idempotent_and_readable(client: httpx.AsyncClient) -> None:
    first = await client.post(
        "/v1/records", json=body(), headers={**KEY, "Idempotency-Key": "r1:v1"}
    )
    again = await client.post(
        "/v1/records", json=body(), headers={**KEY, "Idempotency-Key": "r1:v1"}
    )
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json()["national_id"] == first.json()["national_id"]
    held = (await client.get(f"/v1/records/{first.json()['national_id']}", headers=KEY)).json()
    assert held["body"]["source_record_id"] == "r1"
    listed = (await client.get("/v1/records", params={"unit_code": "25459"}, headers=KEY)).json()
    assert [r["national_id"] for r in listed["items"]] == [first.json()["national_id"]]
    assert (await client.get("/v1/stats")).json()["records"] == 1


async def test_invalid_record_is_rejected_with_a_reason(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/records", json=body(entry=""), headers={**KEY, "Idempotency-Key": "r2:v1"}
    )
    assert response.status_code == 422
    assert "entry_number" in response.json()["detail"]


async def test_auth_and_faults(client: httpx.AsyncClient) -> None:
    assert (
        await client.post("/v1/records", json=body(), headers={"Idempotency-Key": "x"})
    ).status_code == 401
    assert (
        await client.put("/admin/faults", json={"outage": True}, headers=ADMIN)
    ).status_code == 200
    down = await client.post(
        "/v1/records", json=body(), headers={**KEY, "Idempotency-Key": "r3:v1"}
    )
    assert down.status_code == 503
    await client.put("/admin/faults", json={"rate_limit_per_s": 1}, headers=ADMIN)
    statuses = [
        (
            await client.post(
                "/v1/records", json=body(str(i)), headers={**KEY, "Idempotency-Key": f"r{i}:v1"}
            )
        ).status_code
        for i in range(10, 13)
    ]
    assert statuses[0] == 201
    assert 429 in statuses
    limited = await client.post(
        "/v1/records", json=body("20"), headers={**KEY, "Idempotency-Key": "r20:v1"}
    )
    assert limited.status_code == 429
    assert float(limited.headers["Retry-After"]) > 0
    await client.put("/admin/faults", json={"lost_response_rate": 1}, headers=ADMIN)
    lost = await client.post(
        "/v1/records", json=body("30"), headers={**KEY, "Idempotency-Key": "r30:v1"}
    )
    assert lost.status_code == 502
    await client.put("/admin/faults", json={}, headers=ADMIN)
    retried = await client.post(
        "/v1/records", json=body("30"), headers={**KEY, "Idempotency-Key": "r30:v1"}
    )
    assert retried.status_code == 409  # the write was done before the response was lost

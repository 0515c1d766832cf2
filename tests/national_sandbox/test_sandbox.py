"""The national sandbox's contract: idempotent create and update, read back, list, auth,
the national rule, every fault, and the counts "exactly once" checks rely on."""

from __future__ import annotations

import base64
import json
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hotich_national_sandbox.app import create_app
from hotich_national_sandbox.config import SandboxSettings
from hotich_national_sandbox.store import SandboxStore

KEY = {"X-API-Key": "k"}
ADMIN = {"X-Admin-Key": "a"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = SandboxSettings(
        db_path=str(tmp_path / "n.sqlite3"),
        api_key="k",
        admin_key="a",
        client_id="cid",
        client_secret="secret",
    )
    app: FastAPI = create_app(settings)
    async with LifespanManager(app) as manager:
        app.state.faults.rng = random.Random(7)  # seeded: rates are checked below
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
            yield c


def body(entry: str = "15", *, record_id: str = "r1", version: int = 1, **extra: Any) -> Any:
    return {
        "unit_code": "25459",
        "source_record_id": record_id,
        "source_version": version,
        "record": {
            "record_type": "birth",
            "registration_date": "2010-03-15",
            "book_number": "01/2010",
            "entry_number": entry,
            **extra,
        },
    }


async def create(client: httpx.AsyncClient, key: str, payload: Any = None) -> httpx.Response:
    return await client.post(
        "/v1/records", json=payload or body(), headers={**KEY, "Idempotency-Key": key}
    )


async def stats(client: httpx.AsyncClient) -> Any:
    return (await client.get("/v1/stats", headers=KEY)).json()


async def faults(client: httpx.AsyncClient, **changes: Any) -> None:
    response = await client.put("/admin/faults", json=changes, headers=ADMIN)
    assert response.status_code == 200, response.text


async def test_create_is_idempotent_and_readable(client: httpx.AsyncClient) -> None:
    first = await create(client, "r1:v1")
    again = await create(client, "r1:v1")
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json()["national_id"] == first.json()["national_id"]
    national_id = first.json()["national_id"]
    assert national_id.startswith("VN-25-")
    held = (await client.get(f"/v1/records/{national_id}", headers=KEY)).json()
    assert held["body"]["source_record_id"] == "r1"
    assert held["idempotency_key"] == "r1:v1"
    assert held["keys"] == ["r1:v1"]
    by_key = (await client.get("/v1/records/by-key/r1:v1", headers=KEY)).json()
    assert by_key["national_id"] == national_id
    assert (await client.get("/v1/records/by-key/nope", headers=KEY)).status_code == 404
    counts = await stats(client)
    assert counts["records"] == 1
    assert counts["writes"] == 1
    assert counts["duplicate_sources"] == 0
    assert counts["counters"] == {"created": 1, "repeated": 1}


async def test_update_applies_a_corrected_version_once_and_never_an_older_one(
    client: httpx.AsyncClient,
) -> None:
    national_id = (await create(client, "r1:v1")).json()["national_id"]

    async def put(key: str | None, version: int, entry: str) -> httpx.Response:
        headers = {**KEY, **({"Idempotency-Key": key} if key else {})}
        return await client.put(
            f"/v1/records/{national_id}", json=body(entry, version=version), headers=headers
        )

    applied = await put("r1:v2", 2, "16")
    assert applied.status_code == 200
    assert applied.json()["version"] == 2
    assert applied.json()["source_version"] == 2
    assert applied.json()["body"]["record"]["entry_number"] == "16"
    repeated = await put("r1:v2", 2, "16")
    assert repeated.status_code == 409
    assert repeated.json() | {"detail": ""} == {
        "national_id": national_id,
        "detail": "",
        "code": "duplicate_key",
    }
    stale = await put("r1:v1b", 1, "99")
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    missing = await client.put(
        "/v1/records/VN-25-9999999999",
        json=body(version=3),
        headers={**KEY, "Idempotency-Key": "x:v3"},
    )
    assert missing.status_code == 404
    held = (await client.get(f"/v1/records/{national_id}", headers=KEY)).json()
    assert held["keys"] == ["r1:v1", "r1:v2"]
    assert held["body"]["record"]["entry_number"] == "16"
    counts = await stats(client)
    assert (counts["records"], counts["writes"], counts["creates"], counts["updates"]) == (
        1,
        2,
        1,
        1,
    )
    assert counts["counters"]["stale"] == 1


async def test_invalid_record_is_rejected_with_a_reason(client: httpx.AsyncClient) -> None:
    response = await create(client, "r2:v1", body(entry=""))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_record"
    assert "entry_number" in response.json()["detail"]
    assert response.json()["fields"] == ["entry_number"]
    assert (await stats(client))["records"] == 0


async def test_national_rule_is_configurable_at_run_time(client: httpx.AsyncClient) -> None:
    assert (await client.put("/admin/rules", json={"required_fields": ["page"]})).status_code == 401
    changed = await client.put(
        "/admin/rules", json={"required_fields": ["page", "details.child.full_name"]}, headers=ADMIN
    )
    assert changed.status_code == 200
    refused = await create(client, "r3:v1", body(details={"child": {}}))
    assert refused.status_code == 422
    assert refused.json()["fields"] == ["page", "details.child.full_name"]
    accepted = await create(client, "r3:v1", body(page=3, details={"child": {"full_name": "A"}}))
    assert accepted.status_code == 201
    assert (await client.get("/admin/rules", headers=ADMIN)).json()["required_fields"] == [
        "page",
        "details.child.full_name",
    ]


async def test_rule_and_faults_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTICH_SANDBOX_RULE_REQUIRED_FIELDS", '["page"]')
    monkeypatch.setenv("HOTICH_SANDBOX_FAULT_ERROR_RATE", "1")
    monkeypatch.setenv("HOTICH_SANDBOX_FAULT_ERROR_STATUSES", "[503]")
    app = create_app(SandboxSettings(db_path=str(tmp_path / "e.sqlite3"), api_key="k"))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://s") as c,
    ):
        assert (await create(c, "a:v1")).status_code == 503
        await c.put("/admin/faults", json={}, headers={"X-Admin-Key": "sandbox-admin"})
        assert (await create(c, "a:v1")).json()["fields"] == ["page"]


async def test_auth_by_api_key_or_client_credentials(client: httpx.AsyncClient) -> None:
    no_key = await client.post("/v1/records", json=body(), headers={"Idempotency-Key": "x"})
    wrong = await client.post(
        "/v1/records", json=body(), headers={"Idempotency-Key": "x", "X-API-Key": "no"}
    )
    assert (no_key.status_code, wrong.status_code) == (401, 401)
    bad = await client.post(
        "/oauth/token",
        content="grant_type=client_credentials&client_id=cid&client_secret=wrong",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad.status_code == 401
    granted = await client.post(
        "/oauth/token",
        content="grant_type=client_credentials&client_id=cid&client_secret=secret",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert granted.status_code == 200
    bearer = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    made = await client.post(
        "/v1/records", json=body(), headers={**bearer, "Idempotency-Key": "t:v1"}
    )
    assert made.status_code == 201
    basic = base64.b64encode(b"cid:secret").decode()
    via_basic = await client.post(
        "/oauth/token",
        content="grant_type=client_credentials",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert via_basic.status_code == 200
    stale = {"Authorization": "Bearer not-a-token"}
    assert (await client.get("/v1/stats", headers=stale)).status_code == 401


async def test_outage_refuses_everything_then_ends_by_itself(client: httpx.AsyncClient) -> None:
    await faults(client, outage=True, outage_for_s=0.3)
    assert (await create(client, "o:v1")).status_code == 503
    state = (await client.get("/admin/faults", headers=ADMIN)).json()
    assert state["outage_active"] is True
    assert 0 < state["outage_remaining_s"] <= 0.3
    deadline = time.monotonic() + 5
    while (response := await create(client, "o:v1")).status_code == 503:
        assert time.monotonic() < deadline, "the timed outage did not end"
    assert response.status_code == 201
    assert (await stats(client))["counters"]["outage_refused"] >= 1


async def test_switched_outage_lasts_until_switched_off(client: httpx.AsyncClient) -> None:
    patched = await client.patch("/admin/faults", json={"outage": True}, headers=ADMIN)
    assert patched.json()["outage"] is True
    assert (await create(client, "s:v1")).status_code == 503
    assert (await client.get("/admin/faults", headers=ADMIN)).json()["outage_remaining_s"] is None
    await client.patch("/admin/faults", json={"outage": False}, headers=ADMIN)
    assert (await create(client, "s:v1")).status_code == 201
    bad = await client.patch("/admin/faults", json={"error_rate": 2}, headers=ADMIN)
    assert bad.status_code == 422


async def test_injected_errors_use_the_configured_statuses(client: httpx.AsyncClient) -> None:
    await faults(client, error_rate=1, error_statuses=[500, 503])
    statuses = {(await create(client, f"e{i}:v1")).status_code for i in range(20)}
    assert statuses == {500, 503}
    await faults(client, error_rate=0.3)
    outcomes = [(await create(client, f"p{i}:v1")).status_code for i in range(200)]
    errors = sum(s >= 500 for s in outcomes)
    assert 30 <= errors <= 90  # 30% of 200, seeded
    counts = await stats(client)
    assert counts["records"] == 200 - errors
    assert counts["counters"]["injected_errors"] == 20 + errors


async def test_rate_limit_answers_429_with_retry_after(client: httpx.AsyncClient) -> None:
    await faults(client, rate_limit_per_s=2)
    statuses = [(await create(client, f"l{i}:v1", body(str(i)))).status_code for i in range(3)]
    assert statuses == [201, 201, 429]
    limited = await create(client, "l9:v1")
    assert limited.status_code == 429
    assert 0 < float(limited.headers["Retry-After"]) <= 0.5
    reads = await client.get("/v1/records", params={"unit_code": "25459"}, headers=KEY)
    assert reads.status_code == 200  # reads are not limited


async def test_timeout_hangs_then_answers_504_without_writing(client: httpx.AsyncClient) -> None:
    await faults(client, timeout_rate=1, timeout_s=0.2)
    started = time.monotonic()
    response = await create(client, "t:v1")
    assert response.status_code == 504
    assert time.monotonic() - started >= 0.2
    counts = await stats(client)
    assert counts["records"] == 0
    assert counts["counters"]["timeouts"] == 1


async def test_lost_response_after_the_write(client: httpx.AsyncClient) -> None:
    await faults(client, lost_response_rate=1)
    lost = await create(client, "r30:v1", body("30"))
    assert lost.status_code == 502
    await faults(client)
    retried = await create(client, "r30:v1", body("30"))
    assert retried.status_code == 409  # the write was done before the response was lost
    counts = await stats(client)
    assert counts["records"] == 1
    assert counts["counters"]["lost_responses"] == 1


async def test_latency_is_added(client: httpx.AsyncClient) -> None:
    await faults(client, latency_ms=60, latency_distribution="fixed")
    started = time.monotonic()
    assert (await create(client, "lat:v1")).status_code == 201
    assert time.monotonic() - started >= 0.06


async def test_injected_rejection(client: httpx.AsyncClient) -> None:
    await faults(client, reject_rate=1)
    refused = await create(client, "rj:v1")
    assert refused.status_code == 422
    assert "injected" in refused.json()["detail"]


async def test_list_by_unit_pages_through_a_units_records(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await create(client, f"u{i}:v1", body(str(i), record_id=f"u{i}"))
    other = body("x", record_id="other")
    other["unit_code"] = "25460"
    await create(client, "other:v1", other)
    seen, after = [], 0
    while True:
        page = (
            await client.get(
                "/v1/records",
                params={"unit_code": "25459", "after": after, "limit": 2},
                headers=KEY,
            )
        ).json()
        seen += [item["source_record_id"] for item in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == [f"u{i}" for i in range(5)]


async def test_admin_forget_and_reset(client: httpx.AsyncClient) -> None:
    national_id = (await create(client, "f:v1")).json()["national_id"]
    assert (await client.delete(f"/admin/records/{national_id}")).status_code == 401
    assert (await client.delete(f"/admin/records/{national_id}", headers=ADMIN)).status_code == 200
    assert (await client.get(f"/v1/records/{national_id}", headers=KEY)).status_code == 404
    assert (await create(client, "f:v1")).status_code == 201  # the key is forgotten too
    await faults(client, error_rate=1)
    assert (await client.post("/admin/reset", headers=ADMIN)).status_code == 200
    assert (await stats(client)) | {"by_type": {}} == {
        "records": 0,
        "writes": 0,
        "creates": 0,
        "updates": 0,
        "distinct_keys": 0,
        "distinct_sources": 0,
        "duplicate_sources": 0,
        "by_type": {},
        "counters": {},
    }
    assert (await create(client, "f:v1")).status_code == 201  # faults are off again


def test_store_opens_a_first_release_file(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT,
            national_id TEXT UNIQUE NOT NULL, idempotency_key TEXT UNIQUE NOT NULL,
            unit_code TEXT, record_type TEXT, body TEXT NOT NULL, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1);
        """
    )
    conn.execute(
        "INSERT INTO records(national_id, idempotency_key, unit_code, record_type, body,"
        " created_at, updated_at) VALUES ('VN-25-0000000001', 'old:v1', '25459', 'birth', ?,"
        " '2024-01-01', '2024-01-01')",
        (json.dumps(body()),),
    )
    conn.commit()
    conn.close()
    store = SandboxStore(str(path))
    try:
        held = store.by_key("old:v1")
        assert held is not None
        assert held.keys == ["old:v1"]
        assert store.stats()["writes"] == 1
        national_id, _, created = store.create("old:v1", body())
        assert created is False
        assert national_id == "VN-25-0000000001"
    finally:
        store.close()


def test_kept_counts_equal_a_recount_after_any_writes(tmp_path: Path) -> None:
    """Creates (repeated keys, shared sources), updates changing the type, stale and
    repeated updates, forgets and a reset: the counts kept with each write always equal
    the tables counted again, and survive reopening the file."""
    rng = random.Random(11)
    path = str(tmp_path / "counts.sqlite3")
    store = SandboxStore(path)
    held: list[str] = []
    types = ["birth", "death", "marriage", None]
    try:
        for step in range(400):
            action = rng.random()
            if action < 0.55 or not held:
                payload = body(record_id=f"r{rng.randrange(60)}", version=1)
                payload["record"]["record_type"] = rng.choice(types)
                national_id, _, _ = store.create(f"k{rng.randrange(300)}", payload)
                held.append(national_id)
            elif action < 0.85:
                payload = body(version=rng.randrange(1, 5))
                payload["record"]["record_type"] = rng.choice(types)
                key = rng.choice([None, f"u{rng.randrange(200)}"])
                store.update(rng.choice(held), key, payload)
            elif action < 0.99:
                store.delete(held.pop(rng.randrange(len(held))))
            else:
                store.reset()
                held.clear()
            if step % 20 == 0:
                assert store.stats() == store.recounted_stats(), step
        final = store.stats()
        assert final == store.recounted_stats()
        assert final["records"] > 0
        assert final["updates"] > 0
        assert final["duplicate_sources"] > 0
        assert None in final["by_type"]
        assert "birth" in final["by_type"]
    finally:
        store.close()
    reopened = SandboxStore(path)
    try:
        assert reopened.stats() == final
    finally:
        reopened.close()


def test_a_file_without_kept_counts_gets_them_counted_on_open(tmp_path: Path) -> None:
    path = tmp_path / "before-counts.sqlite3"
    store = SandboxStore(str(path))
    store.create("a:v1", body(record_id="a"))
    store.create("b:v1", body(record_id="a"))
    store.update(store.national_id_of("a:v1") or "", "a:v2", body(record_id="a", version=2))
    expected = store.stats()
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE counts")
    conn.commit()
    conn.close()
    reopened = SandboxStore(str(path))
    try:
        assert reopened.stats() == expected
        assert expected | {"by_type": {}} == {
            "records": 2,
            "writes": 3,
            "creates": 2,
            "updates": 1,
            "distinct_keys": 3,
            "distinct_sources": 1,
            "duplicate_sources": 1,
            "by_type": {},
        }
        assert expected["by_type"] == {"birth": 2}
    finally:
        reopened.close()

"""Intake's HTTP API against the real broker and store: access by role and unit, entry
paths, idempotency, corrections, imports, accounts, audit and limits."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from hotich_contracts.examples import example_record
from hotich_contracts.records import RecordType
from tests.intake.integration.conftest import ACCOUNTS, PASSWORD, Intake

pytestmark = pytest.mark.integration


def birth(**overrides: Any) -> dict[str, Any]:
    overrides.setdefault("entry_number", str(uuid.uuid4().int % 10**9))
    return example_record(RecordType.BIRTH, **overrides)


@pytest.fixture(scope="module")
def record_of_clerk_a(intake: Intake) -> str:
    with intake.client("clerk_a") as client:
        response = client.post("/v1/records", json=birth())
    assert response.status_code == 202, response.text
    return str(response.json()["record_id"])


ROLES = list(ACCOUNTS)

# expected status per endpoint and caller; the record belongs to clerk_a's commune (25459,
# district 703). "hidden" means 404: callers outside the scope cannot even learn it exists.
READ_ONE = {
    "clerk_a": 200,
    "clerk_b": 404,
    "district_703": 200,
    "district_705": 404,
    "department": 200,
    "migration": 404,
    "admin": 200,
}
CORRECT = {
    "clerk_a": 202,
    "clerk_b": 404,
    "district_703": 403,
    "district_705": 403,
    "department": 403,
    "migration": 403,
    "admin": 403,
}
ENTER = {
    "clerk_a": 202,
    "clerk_b": 202,
    "district_703": 403,
    "district_705": 403,
    "department": 403,
    "migration": 403,
    "admin": 403,
}
SEES_IN_LIST = {
    "clerk_a": True,
    "clerk_b": False,
    "district_703": True,
    "district_705": False,
    "department": True,
    "migration": False,
    "admin": True,
}
IMPORT = {
    "clerk_a": 200,
    "clerk_b": 200,
    "district_703": 403,
    "district_705": 403,
    "department": 403,
    "migration": 200,
    "admin": 403,
}
ADMIN_ONLY = {name: (200 if name == "admin" else 403) for name in ROLES}
AUDIT = {name: (200 if name in ("admin", "department") else 403) for name in ROLES}


@pytest.mark.parametrize("who", ROLES)
def test_read_one_record_is_scoped(intake: Intake, record_of_clerk_a: str, who: str) -> None:
    with intake.client(who) as client:
        assert client.get(f"/v1/records/{record_of_clerk_a}").status_code == READ_ONE[who]


@pytest.mark.parametrize("who", ROLES)
def test_list_is_scoped(intake: Intake, record_of_clerk_a: str, who: str) -> None:
    with intake.client(who) as client:
        ids, after = set(), None
        while True:
            page = client.get(
                "/v1/records", params={"limit": 500, **({"after": after} if after else {})}
            )
            assert page.status_code == 200
            ids |= {item["record_id"] for item in page.json()["items"]}
            after = page.json()["next_after"]
            if after is None:
                break
    assert (record_of_clerk_a in ids) == SEES_IN_LIST[who]


@pytest.mark.parametrize("who", ROLES)
def test_correct_is_own_unit_clerks_only(intake: Intake, record_of_clerk_a: str, who: str) -> None:
    with intake.client(who) as client:
        current = client.get(
            f"/v1/records/{record_of_clerk_a}",
            headers={"Authorization": f"Bearer {intake.tokens['clerk_a']}"},
        ).json()
        body = dict(current["record"])
        body["page"] = (body.get("page") or 1) + 1
        assert client.put(f"/v1/records/{record_of_clerk_a}", json=body).status_code == CORRECT[who]


@pytest.mark.parametrize("who", ROLES)
def test_enter_single_and_batch_by_role(intake: Intake, who: str) -> None:
    with intake.client(who) as client:
        assert client.post("/v1/records", json=birth()).status_code == ENTER[who]
        batch = client.post("/v1/records/batch", json={"items": [{"record": birth()}]})
    if ENTER[who] == 202:
        assert batch.status_code == 200
        assert batch.json()["results"][0]["outcome"] == "created"
    elif who == "migration":
        assert batch.status_code == 200
        assert batch.json()["results"][0]["outcome"] == "forbidden"
    else:
        assert batch.status_code == 403


@pytest.mark.parametrize("who", ROLES)
def test_import_by_role(intake: Intake, who: str) -> None:
    source = "migration" if who == "migration" else "manual"
    line = json.dumps(birth(source=source, registration_date="2013-05-02")).encode()
    with intake.client(who) as client:
        assert client.post("/v1/imports", content=line + b"\n").status_code == IMPORT[who]


@pytest.mark.parametrize("who", ROLES)
def test_accounts_and_audit_by_role(intake: Intake, who: str) -> None:
    with intake.client(who) as client:
        assert client.get("/v1/accounts").status_code == ADMIN_ONLY[who]
        created = client.post(
            "/v1/accounts",
            json={
                "username": f"u{uuid.uuid4().hex[:8]}",
                "password": "a-long-password",
                "unit_code": "25459",
                "role": "clerk",
            },
        )
        assert created.status_code == (201 if who == "admin" else 403)
        assert client.post("/v1/accounts/nobody-here/lock").status_code == (
            404 if who == "admin" else 403
        )
        assert client.get("/v1/audit").status_code == AUDIT[who]


def test_unauthenticated_and_bad_tokens_get_401(intake: Intake) -> None:
    with httpx.Client(base_url=intake.url) as client:
        assert client.get("/v1/records").status_code == 401
        assert client.post("/v1/records", json=birth()).status_code == 401
        forged = client.get("/v1/records", headers={"Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401


def test_idempotency_key_and_natural_key(intake: Intake) -> None:
    body = birth()
    with intake.client("clerk_a") as client:
        first = client.post(
            "/v1/records", json=body, headers={"Idempotency-Key": "idem-1" + body["entry_number"]}
        )
        again = client.post(
            "/v1/records", json=body, headers={"Idempotency-Key": "idem-1" + body["entry_number"]}
        )
        other = client.post(
            "/v1/records",
            json={**body, "page": 9},
            headers={"Idempotency-Key": "idem-1" + body["entry_number"]},
        )
        plain = birth()
        no_key = client.post("/v1/records", json=plain)
        retried = client.post("/v1/records", json=plain)
        changed = client.post("/v1/records", json={**plain, "page": 5})
    assert first.status_code == again.status_code == 202
    assert again.json()["record_id"] == first.json()["record_id"]
    assert again.json()["repeated"] is True
    assert other.status_code == 409
    assert retried.json()["record_id"] == no_key.json()["record_id"]
    assert changed.status_code == 409
    assert changed.json()["record_id"] == no_key.json()["record_id"]
    assert changed.json()["message_vi"]


def test_batch_reports_each_item(intake: Intake) -> None:
    good, bad = birth(), birth()
    del bad["book_number"]
    with intake.client("clerk_a") as client:
        response = client.post(
            "/v1/records/batch",
            json={
                "items": [
                    {"record": good},
                    {"record": bad},
                    {"record": good},
                    {"record": {**good, "page": 3}},
                ]
            },
        )
        too_many = client.post("/v1/records/batch", json={"items": [{"record": good}] * 1001})
        # also when an invalid item sends it down the item-by-item path
        too_many_mixed = client.post(
            "/v1/records/batch", json={"items": [{"record": bad}] + [{"record": good}] * 1000}
        )
    assert response.status_code == 200
    outcomes = [r["outcome"] for r in response.json()["results"]]
    assert outcomes == ["created", "invalid", "repeated", "conflict"]
    errors = response.json()["results"][1]["errors"]
    assert any(e["field"].endswith("book_number") and e["message_vi"] for e in errors)
    assert too_many.status_code == 413
    assert too_many_mixed.status_code == 413


def test_a_body_that_is_not_a_batch_gets_field_reasons_and_the_schema_documents_it(
    intake: Intake,
) -> None:
    with intake.client("clerk_a") as client:
        not_json = client.post(
            "/v1/records/batch", content=b"{items", headers={"Content-Type": "application/json"}
        )
        no_items = client.post("/v1/records/batch", json={"items": []})
        long_key = client.post(
            "/v1/records/batch",
            json={"items": [{"record": birth(), "idempotency_key": "k" * 201}]},
        )
        document = client.get("/openapi.json").json()
    assert not_json.status_code == 422
    assert [e["code"] for e in not_json.json()["errors"]] == ["json_invalid"]
    assert no_items.status_code == 422
    assert [e["field"] for e in no_items.json()["errors"]] == ["items"]
    assert long_key.status_code == 422
    assert [e["field"] for e in long_key.json()["errors"]] == ["items.0.idempotency_key"]
    body = document["paths"]["/v1/records/batch"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["required"] == ["items"]
    assert schema["properties"]["items"]["minItems"] == 1
    assert schema["properties"]["items"]["items"]["required"] == ["record"]


def test_a_record_too_large_for_kafka_gets_413_alone_and_too_large_in_a_batch(
    intake: Intake,
) -> None:
    huge = birth(entry_number="9901", unreadable_fields=["notes"] * 40_000)
    with intake.client("clerk_a") as client:
        single = client.post("/v1/records", json=huge)
        batch = client.post(
            "/v1/records/batch",
            json={"items": [{"record": huge}, {"record": birth(entry_number="9902")}]},
        )
    assert single.status_code == 413
    assert single.json()["message_vi"]
    assert batch.status_code == 200
    assert [r["outcome"] for r in batch.json()["results"]] == ["too_large", "created"]


def test_request_size_limit(intake: Intake) -> None:
    with intake.client("clerk_a") as client:
        response = client.post(
            "/v1/records",
            content=b"{" + b" " * (11 * 1024 * 1024) + b"}",
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413


def test_correction_creates_version_2_and_history_keeps_the_first(intake: Intake) -> None:
    with intake.client("clerk_a") as client:
        record_id = client.post("/v1/records", json=birth()).json()["record_id"]
        body = client.get(f"/v1/records/{record_id}").json()["record"]
        fixed = client.put(f"/v1/records/{record_id}", json={**body, "page": 42})
        view = client.get(f"/v1/records/{record_id}").json()
    assert fixed.status_code == 202
    assert fixed.json()["version"] == 2
    assert view["version"] == 2
    assert view["record"]["page"] == 42


def test_import_streams_reports_bad_lines_and_is_safe_to_resend(intake: Intake) -> None:
    lines = [
        json.dumps(birth(source="migration", registration_date="2013-05-02")) for _ in range(7)
    ]
    lines.insert(3, "{not json")
    lines.insert(5, json.dumps({"record_type": "birth"}))
    payload = ("\n".join(lines) + "\n").encode()
    job = f"job-{uuid.uuid4().hex[:8]}"
    with intake.client("migration") as client:
        first = client.post("/v1/imports", params={"job_id": job}, content=payload)
        progress = client.get(f"/v1/imports/{job}")
        resent = client.post("/v1/imports", params={"job_id": job + "-again"}, content=payload)
        resumed = client.post(
            "/v1/imports",
            params={"job_id": job + "-resume", "resume_from_line": 6},
            content=payload,
        )
    assert first.status_code == 200
    summary = first.json()
    assert summary["submitted"] == 7
    assert summary["error_count"] == 2
    assert sorted(e["line"] for e in summary["errors"]) == [4, 6]
    assert progress.json()["status"] == "completed"
    assert progress.json()["lines_committed"] == 9
    assert resent.json()["submitted"] == 0
    assert resent.json()["repeated"] == 7
    assert resumed.json()["lines_read"] == 9
    assert resumed.json()["repeated"] == 3


def test_lock_is_effective_on_the_next_request_and_unlock_restores(intake: Intake) -> None:
    name = f"tmp{uuid.uuid4().hex[:8]}"
    with intake.client("admin") as admin:
        assert (
            admin.post(
                "/v1/accounts",
                json={
                    "username": name,
                    "password": "first-password",
                    "unit_code": "25459",
                    "role": "clerk",
                },
            ).status_code
            == 201
        )
        with httpx.Client(base_url=intake.url) as anon:
            token = anon.post(
                "/v1/auth/token", data={"username": name, "password": "first-password"}
            ).json()["access_token"]
        user = {"Authorization": f"Bearer {token}"}
        assert admin.get("/v1/records", headers=user).status_code == 200
        assert admin.post(f"/v1/accounts/{name}/lock").status_code == 204
        assert admin.get("/v1/records", headers=user).status_code == 401
        assert admin.post(f"/v1/accounts/{name}/unlock").status_code == 204
        assert admin.get("/v1/records", headers=user).status_code == 200
        assert (
            admin.post(
                f"/v1/accounts/{name}/password", json={"password": "second-password"}
            ).status_code
            == 204
        )
    with httpx.Client(base_url=intake.url) as anon:
        assert (
            anon.post(
                "/v1/auth/token", data={"username": name, "password": "first-password"}
            ).status_code
            == 401
        )
        assert (
            anon.post(
                "/v1/auth/token", data={"username": name, "password": "second-password"}
            ).status_code
            == 200
        )


def test_repeated_failed_logins_are_throttled_even_for_the_right_password(intake: Intake) -> None:
    name = f"thr{uuid.uuid4().hex[:8]}"
    with intake.client("admin") as admin:
        admin.post(
            "/v1/accounts",
            json={
                "username": name,
                "password": "right-password",
                "unit_code": "25459",
                "role": "clerk",
            },
        )
    with httpx.Client(base_url=intake.url) as anon:
        statuses = [
            anon.post("/v1/auth/token", data={"username": name, "password": "wrong"}).status_code
            for _ in range(6)
        ]
        right = anon.post("/v1/auth/token", data={"username": name, "password": "right-password"})
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0


def test_audit_trail_records_who_what_when_and_from_where(intake: Intake) -> None:
    with intake.client("clerk_a") as clerk:
        record_id = clerk.post("/v1/records", json=birth()).json()["record_id"]
    with intake.client("department") as department:
        entries = department.get(
            "/v1/audit", params={"actor": "clerk_a", "action": "record.create"}
        ).json()
    entry = next(e for e in entries if e["target"] == record_id)
    assert entry["unit_code"] == "25459"
    assert entry["outcome"] == "created"
    assert entry["client"] == "127.0.0.1"
    assert entry["at"]


def test_login_with_wrong_password_is_refused(intake: Intake) -> None:
    with httpx.Client(base_url=intake.url) as anon:
        assert (
            anon.post(
                "/v1/auth/token", data={"username": "clerk_b", "password": PASSWORD + "x"}
            ).status_code
            == 401
        )

from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from hotich_contracts import topics
from hotich_contracts.events import RecordStatus, RecordValidated
from hotich_contracts.units import default_registry
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.bootstrap import DedupDeps
from hotich_dedup.config import DedupSettings
from hotich_dedup.entrypoints.api import router
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.auth import Principal, Role, issue_token
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import FakePublisher
from tests.dedup.builders import (
    birth,
    copies_too_far_apart,
    keyed_twice_with_another_slip,
    one_by_one,
    other_child,
    validated,
)

SECRET = "dedup-test-secret-of-at-least-32-bytes"


def bearer(username: str, unit: str, role: Role) -> dict[str, str]:
    token = issue_token(Principal(username, unit, role), SECRET, timedelta(minutes=5))
    return {"Authorization": f"Bearer {token}"}


OFFICER = bearer("phong-tp", "703", Role.DISTRICT_OFFICER)
FAR_OFFICER = bearer("phong-tp-710", "710", Role.DISTRICT_OFFICER)
CLERK = bearer("clerk", "25459", Role.CLERK)
DEPARTMENT = bearer("so-tp", "72", Role.DEPARTMENT_OFFICER)


@pytest.fixture
async def api() -> AsyncIterator[tuple[httpx.AsyncClient, InMemoryDedupStore, FakePublisher]]:
    store, pub = InMemoryDedupStore(), FakePublisher()
    app = FastAPI()
    app.include_router(router)
    deps = DedupDeps(DedupSettings(jwt_secret=SECRET), store, pub, default_registry())
    app.state.runtime = SimpleNamespace(state={"deps": deps})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dedup") as client:
        yield client, store, pub


async def test_list_and_resolve_over_http(
    api: tuple[httpx.AsyncClient, InMemoryDedupStore, FakePublisher],
) -> None:
    client, store, pub = api
    a, b = validated(birth(entry_number="1")), validated(birth(entry_number="2"))
    await deduplicate([a, b], store=store, publisher=FakePublisher())

    listed = await client.get("/v1/duplicates", params={"status": "open"}, headers=OFFICER)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["record_id"] == b.record_id
    assert item["can_resolve"] is True
    assert item["candidates"][0]["record_id"] == a.record_id
    assert "details.child.full_name" in item["candidates"][0]["matched_fields"]
    assert item["record"]["details"]["child"]["full_name"] == "Trần Minh Khôi"
    one = await client.get(f"/v1/duplicates/{b.record_id}", headers=OFFICER)
    assert one.json()["state"] == "open"

    far = await client.get("/v1/duplicates", headers=FAR_OFFICER)
    assert far.json()["items"] == []
    assert (
        await client.get(f"/v1/duplicates/{b.record_id}", headers=FAR_OFFICER)
    ).status_code == 403
    assert (await client.get("/v1/duplicates", headers=CLERK)).status_code == 403
    assert (await client.get("/v1/duplicates")).status_code == 401
    bad = {"Authorization": "Bearer nonsense"}
    assert (await client.get("/v1/duplicates", headers=bad)).status_code == 401

    url = f"/v1/duplicates/{b.record_id}/resolve"
    assert (
        await client.post(url, json={"resolution": "maybe"}, headers=OFFICER)
    ).status_code == 422
    forbidden = await client.post(url, json={"resolution": "distinct"}, headers=FAR_OFFICER)
    assert forbidden.status_code == 403
    done = await client.post(
        url, json={"resolution": "duplicate", "note": "cùng một trẻ"}, headers=OFFICER
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "rejected"
    assert done.json()["duplicate_of"] == a.record_id
    [event] = pub.events(topics.RECORD_DEDUPLICATED)
    assert str(event.event_id) == done.json()["event_id"]
    assert event.payload.status == RecordStatus.REJECTED  # type: ignore[attr-defined]
    conflict = await client.post(url, json={"resolution": "distinct"}, headers=OFFICER)
    assert conflict.status_code == 409
    missing = await client.post(
        f"/v1/duplicates/{a.record_id}/resolve", json={"resolution": "distinct"}, headers=OFFICER
    )
    assert missing.status_code == 404
    resolved = await client.get("/v1/duplicates", params={"status": "resolved"}, headers=OFFICER)
    assert resolved.json()["items"][0]["review"]["note"] == "cùng một trẻ"


async def test_suspects_linking_two_candidates_are_listed_with_a_message(
    api: tuple[httpx.AsyncClient, InMemoryDedupStore, FakePublisher],
) -> None:
    client, store, _ = api
    first, second, entry = copies_too_far_apart()
    lone, again = (validated(other_child(entry_number=n)) for n in ("1", "2"))
    await deduplicate([first, second, entry, lone, again], store=store, publisher=FakePublisher())

    every = await client.get("/v1/duplicates", headers=OFFICER)
    assert {i["record_id"]: len(i["linked"]) for i in every.json()["items"]} == {
        entry.record_id: 1,
        again.record_id: 0,
    }
    listed = await client.get("/v1/duplicates", params={"linked": "true"}, headers=OFFICER)
    [item] = listed.json()["items"]
    assert item["record_id"] == entry.record_id
    [pair] = item["linked"]
    assert set(pair["record_ids"]) == {first.record_id, second.record_id}
    assert first.record_id in pair["message_vi"]
    assert "một sự kiện hộ tịch" in pair["message_vi"]
    assert "national civil status database" in pair["message_en"]


async def _rekeying_naming_a_pair(
    store: InMemoryDedupStore,
) -> tuple[RecordValidated, RecordValidated, RecordValidated]:
    """:func:`keyed_twice_with_another_slip`'s records, the copy's keying rejected last."""
    original, copy, again = keyed_twice_with_another_slip()
    await one_by_one(store, again, original, copy)
    return original, copy, again


async def test_a_re_keying_naming_a_pair_is_listed_as_a_rejection_nobody_resolves(
    api: tuple[httpx.AsyncClient, InMemoryDedupStore, FakePublisher],
) -> None:
    client, store, _ = api
    original, copy, again = await _rekeying_naming_a_pair(store)

    assert (await client.get("/v1/duplicates", headers=DEPARTMENT)).json()["items"] == []
    listed = await client.get("/v1/duplicates", params={"linked": "true"}, headers=DEPARTMENT)
    [item] = listed.json()["items"]
    assert (item["record_id"], item["status"], item["state"]) == (copy.record_id, "rejected", None)
    assert item["can_resolve"] is False
    assert [r["code"] for r in item["reasons"]] == ["duplicate_exact"]
    assert item["reasons"][0]["related_record_id"] == again.record_id
    assert [c["record_id"] for c in item["candidates"]] == [again.record_id, original.record_id]
    [pair] = item["linked"]
    assert set(pair["record_ids"]) == {again.record_id, original.record_id}
    one = await client.get(f"/v1/duplicates/{copy.record_id}", headers=DEPARTMENT)
    assert one.status_code == 200
    assert one.json()["linked"] == item["linked"]
    refused = await client.post(
        f"/v1/duplicates/{copy.record_id}/resolve",
        json={"resolution": "distinct"},
        headers=DEPARTMENT,
    )
    assert refused.status_code == 404
    assert item["can_check_pair"] is True


async def test_the_pairs_a_re_keying_names_are_checked_over_http(
    api: tuple[httpx.AsyncClient, InMemoryDedupStore, FakePublisher],
) -> None:
    client, store, _ = api
    original, copy, again = await _rekeying_naming_a_pair(store)
    url = f"/v1/duplicates/{copy.record_id}/pair-check"

    assert (
        await client.post(url, json={"resolution": "distinct"}, headers=CLERK)
    ).status_code == 403
    far = await client.post(url, json={"resolution": "distinct"}, headers=OFFICER)
    assert far.status_code == 403
    assert "phạm vi" in far.json()["detail"]
    # Entered in district 707, but the pair's original is of 703: the Department's call.
    entered_here = bearer("phong-tp-707", "707", Role.DISTRICT_OFFICER)
    listed = await client.get("/v1/duplicates", params={"linked": "true"}, headers=entered_here)
    [item] = listed.json()["items"]
    assert item["can_check_pair"] is False
    mine = await client.post(url, json={"resolution": "distinct"}, headers=entered_here)
    assert mine.status_code == 403
    bad = await client.post(url, json={"resolution": "same"}, headers=DEPARTMENT)
    assert bad.status_code == 422
    accepted = f"/v1/duplicates/{again.record_id}/pair-check"
    assert (
        await client.post(accepted, json={"resolution": "distinct"}, headers=DEPARTMENT)
    ).status_code == 404

    body = {"resolution": "duplicate", "note": "cùng một người; đã sửa trên CSDL quốc gia"}
    checked = await client.post(url, json=body, headers=DEPARTMENT)
    assert checked.status_code == 200
    view = checked.json()
    assert (view["status"], view["state"], view["can_check_pair"]) == (
        "rejected",
        "resolved",
        False,
    )
    assert view["review"]["resolution"] == "duplicate"
    assert view["review"]["note"] == body["note"]
    assert (await client.post(url, json=body, headers=DEPARTMENT)).json() == view
    other = await client.post(url, json={"resolution": "distinct"}, headers=DEPARTMENT)
    assert other.status_code == 409

    still_open = await client.get("/v1/duplicates", params={"linked": "true"}, headers=DEPARTMENT)
    assert still_open.json()["items"] == []
    resolved = await client.get(
        "/v1/duplicates", params={"linked": "true", "status": "resolved"}, headers=DEPARTMENT
    )
    assert [i["record_id"] for i in resolved.json()["items"]] == [copy.record_id]


async def test_the_store_down_is_a_503_to_retry(
    api: tuple[httpx.AsyncClient, InMemoryDedupStore, FakePublisher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, store, _ = api

    async def down(*_: object, **__: object) -> None:
        raise RetryableError("dedup store: down")

    monkeypatch.setattr(store, "latest_decision", down)
    for answer in (
        await client.get("/v1/duplicates/r-1", headers=DEPARTMENT),
        await client.post(
            "/v1/duplicates/r-1/pair-check", json={"resolution": "distinct"}, headers=DEPARTMENT
        ),
    ):
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "5"
        assert "thử lại" in answer.json()["detail"]


async def test_a_district_officer_checks_the_pairs_when_every_record_is_of_the_district(
    api: tuple[httpx.AsyncClient, InMemoryDedupStore, FakePublisher],
) -> None:
    client, store, _ = api
    # The three keyings entered in Phường 3 (25459), district 703.
    original, copy, again = (
        e.model_copy(update={"unit_code": "25459"}) for e in keyed_twice_with_another_slip()
    )
    await one_by_one(store, again, original, copy)
    listed = await client.get("/v1/duplicates", params={"linked": "true"}, headers=OFFICER)
    [item] = listed.json()["items"]
    assert item["can_check_pair"] is True
    checked = await client.post(
        f"/v1/duplicates/{copy.record_id}/pair-check",
        json={"resolution": "distinct"},
        headers=OFFICER,
    )
    assert checked.status_code == 200
    assert checked.json()["review"]["reviewer_unit_code"] == "703"

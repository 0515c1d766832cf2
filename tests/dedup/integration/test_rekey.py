"""Re-keying stored profiles when the blocking keys change, on the real store."""

from collections.abc import Callable
from typing import Any

import pytest

from hotich_contracts.events import RecordStatus
from hotich_dedup.adapters.mongo_store import MongoDedupStore, _rekey_op
from hotich_dedup.domain.profile import BLOCKING_KEYS_VERSION
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.ports import FakePublisher
from tests.dedup.builders import birth, keyed_again_before_its_copy, one_by_one, validated

pytestmark = pytest.mark.integration


def _records(store: MongoDedupStore) -> Any:
    return store._records  # noqa: SLF001 - the test plays an older release's writes


async def _as_older_release(store: MongoDedupStore, record_id: str) -> None:
    """Put a stored record back on the keys of an older scheme (no keys_version)."""
    old = ["birth|old-scheme|" + record_id]
    await _records(store).update_one(
        {"_id": record_id},
        {
            "$set": {"blocking_keys": old, "profile.blocking_keys": old},
            "$unset": {"keys_version": ""},
        },
    )
    await store._meta.delete_many({})  # noqa: SLF001


async def test_a_profile_stored_under_an_older_scheme_is_found_again_after_rekey(
    mongo_stores: Callable[[], MongoDedupStore],
) -> None:
    store = mongo_stores()
    pub = FakePublisher()
    original = validated(birth(entry_number="15"))
    [first] = await deduplicate([original], store=store, publisher=pub)
    assert first.payload.status == RecordStatus.ACCEPTED
    doc = await _records(store).find_one({"_id": original.record_id})
    assert doc["keys_version"] == BLOCKING_KEYS_VERSION
    current_keys = doc["blocking_keys"]
    await _as_older_release(store, original.record_id)

    # under the old keys the same birth in another book is not found ...
    again = validated(birth(entry_number="7", book_number="02/2010"))
    [missed] = await deduplicate([again], store=store, publisher=pub)
    assert missed.payload.status == RecordStatus.ACCEPTED

    # ... a start re-keys what is stored (the record just decided is already current)
    assert await store.rekey() == 1
    doc = await _records(store).find_one({"_id": original.record_id})
    assert doc["blocking_keys"] == doc["profile"]["blocking_keys"] == current_keys
    assert doc["keys_version"] == BLOCKING_KEYS_VERSION
    marker = await store._meta.find_one({"_id": "blocking_keys"})  # noqa: SLF001
    assert (marker["version"], marker["rekeyed"]) == (BLOCKING_KEYS_VERSION, 1)

    third = validated(birth(entry_number="9", book_number="03/2010"))
    [found] = await deduplicate([third], store=store, publisher=pub)
    assert found.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    assert {c.record_id for c in found.payload.candidates} >= {original.record_id}

    # a finished pass is remembered: the next start reads one document
    await _records(store).update_one({"_id": again.record_id}, {"$unset": {"keys_version": ""}})
    assert await store.rekey() == 0


async def test_rekey_keeps_an_inactive_record_out_and_never_overwrites_a_newer_write(
    mongo_stores: Callable[[], MongoDedupStore],
) -> None:
    store = mongo_stores()
    pub = FakePublisher()
    a, b = validated(birth(entry_number="1")), validated(birth(entry_number="2", child="Lê Văn Tư"))
    await deduplicate([a, b], store=store, publisher=pub)
    for rid in (a.record_id, b.record_id):
        await _as_older_release(store, rid)
    await store.deactivate(a.record_id, 1)

    # b is read by a pass, then changes before the pass writes: the write is dropped
    stale_read = await _records(store).find_one({"_id": b.record_id})
    await _records(store).update_one({"_id": b.record_id}, {"$set": {"version": 2}})
    result = await _records(store).bulk_write([_rekey_op(stale_read)])
    assert result.modified_count == 0
    await _records(store).update_one({"_id": b.record_id}, {"$set": {"version": 1}})

    assert await store.rekey() == 2
    inactive = await _records(store).find_one({"_id": a.record_id})
    assert inactive["blocking_keys"] == []  # holds no keys: never a candidate again
    assert inactive["keys_version"] == BLOCKING_KEYS_VERSION
    assert inactive["profile"]["blocking_keys"]
    assert "old-scheme" not in str(inactive["profile"])
    found = await store.candidates([inactive["profile"]["blocking_keys"]])
    assert a.record_id not in {p.record_id for p in found}
    active = await _records(store).find_one({"_id": b.record_id})
    assert b.record_id in {p.record_id for p in await store.candidates([active["blocking_keys"]])}
    # another instance starting afterwards finds nothing left to do
    assert await mongo_stores().rekey() == 0


async def test_rekey_gives_a_records_other_keyings_the_current_keys_too(
    mongo_stores: Callable[[], MongoDedupStore],
) -> None:
    store = mongo_stores()
    pub = FakePublisher()
    entry, again, copy = keyed_again_before_its_copy()
    for event in (again, entry):
        await deduplicate([event], store=store, publisher=pub)
    doc = await _records(store).find_one({"_id": again.record_id})
    [keying] = doc["keyings"]
    assert set(keying["blocking_keys"]) <= set(doc["blocking_keys"])
    current = doc["blocking_keys"]
    old = ["death|old-scheme|" + again.record_id]
    await _records(store).update_one(
        {"_id": again.record_id},
        {
            "$set": {
                "blocking_keys": old,
                "profile.blocking_keys": old,
                "keyings.0.blocking_keys": old,
            },
            "$unset": {"keys_version": ""},
        },
    )
    await store._meta.delete_many({})  # noqa: SLF001
    assert await store.rekey() == 1
    doc = await _records(store).find_one({"_id": again.record_id})
    assert sorted(doc["blocking_keys"]) == sorted(current)
    assert doc["keyings"][0]["blocking_keys"] == keying["blocking_keys"]
    [held] = await deduplicate([copy], store=store, publisher=pub)
    assert [c.record_id for c in held.payload.candidates] == [again.record_id]


async def test_rekey_scopes_a_keying_to_the_district_that_entered_it(
    mongo_stores: Callable[[], MongoDedupStore],
) -> None:
    store = mongo_stores()
    entry, again, _ = keyed_again_before_its_copy()
    # The entry keyed from a commune of district 707; the record it keys again is of 703.
    elsewhere = entry.model_copy(update={"unit_code": "25582"})
    await one_by_one(store, again, elsewhere)
    doc = await _records(store).find_one({"_id": again.record_id})
    [keying] = doc["keyings"]
    assert (keying["unit_code"], keying["keying_unit"]) == (again.unit_code, "25582")
    old = ["death|old-scheme|" + again.record_id]
    await _records(store).update_one(
        {"_id": again.record_id},
        {"$set": {"keyings.0.blocking_keys": old}, "$unset": {"keys_version": ""}},
    )
    await store._meta.delete_many({})  # noqa: SLF001
    assert await store.rekey() == 1
    doc = await _records(store).find_one({"_id": again.record_id})
    assert doc["keyings"][0]["blocking_keys"] == keying["blocking_keys"]
    assert any("|707|" in key or key.endswith("|707") for key in keying["blocking_keys"])

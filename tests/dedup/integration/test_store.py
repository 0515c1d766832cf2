"""The dedup use cases on the fake and on MongoDB: the same outcomes."""

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import monitoring

from hotich_contracts import topics
from hotich_contracts.events import DuplicateResolution, RecordStatus
from hotich_contracts.units import default_registry
from hotich_dedup.adapters import mongo_store
from hotich_dedup.adapters.mongo_store import MongoDedupStore
from hotich_dedup.domain.matching import pair_id
from hotich_dedup.domain.model import ReviewState
from hotich_dedup.domain.profile import build_profile
from hotich_dedup.service_layer import review
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.auth import Principal, Role
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import FakePublisher
from tests.dedup.builders import (
    birth,
    copies_too_far_apart,
    corrected,
    death_at,
    fatherless_child_in_another_district,
    keyed_again_before_its_copy,
    keyed_twice_with_another_slip,
    mistyped_death_in_another_district,
    one_by_one,
    other_child,
    pair,
    validated,
)

pytestmark = pytest.mark.integration

OFFICER = Principal("phong-tp", "703", Role.DISTRICT_OFFICER)
DISTINCT, DUPLICATE = DuplicateResolution.DISTINCT, DuplicateResolution.DUPLICATE


def _profile(event: Any) -> Any:
    return build_profile(
        event.payload.record, record_id=event.record_id, version=1, unit_code=event.unit_code
    )


DEPARTMENT = Principal("so-tp", "72", Role.DEPARTMENT_OFFICER)


async def test_exact_probable_and_new_versions(dedup_store: Any) -> None:
    pub = FakePublisher()
    a = validated(birth(entry_number="15"))
    exact = validated(birth(entry_number="015", child="Trần Minh Khoi"))
    probable = validated(
        birth(entry_number="7", registering_authority_code="25462", storing_unit_code="25462"),
        unit_code="25462",
    )
    out = await deduplicate([a, exact, probable], store=dedup_store, publisher=pub)
    assert [o.payload.status for o in out] == [
        RecordStatus.ACCEPTED,
        RecordStatus.REJECTED,
        RecordStatus.DUPLICATE_SUSPECTED,
    ]
    assert out[1].payload.reasons[0].related_record_id == a.record_id
    assert out[2].payload.candidates[0].record_id == a.record_id

    # a's version 2 moves to entry 16 and another child: entry 15 is free again
    a2 = validated(
        birth(entry_number="16", child="Lê Thị Hoa", born="2010-05-02"),
        record_id=a.record_id,
        version=2,
    )
    again = validated(birth(entry_number="15", child="Phan Văn Út", born="2010-01-09"))
    out = await deduplicate([a2, again], store=dedup_store, publisher=pub)
    assert [o.payload.status for o in out] == [RecordStatus.ACCEPTED, RecordStatus.ACCEPTED]

    # redelivery of the whole first batch: same event ids, nothing new claimed
    first_ids = [e.event_id for e in pub.events(topics.RECORD_DEDUPLICATED)[:3]]
    replay = await deduplicate([a, exact, probable], store=dedup_store, publisher=pub)
    assert [o.event_id for o in replay] == first_ids


async def test_cross_district_pairs_found_only_by_the_province_wide_keys(dedup_store: Any) -> None:
    # Keys version 3: a death with a mistyped given name and a month for a date, and a
    # fatherless birth with a mistyped child and a year, each registered again in
    # another district. Each pair shares one key (the store's multikey lookup finds it).
    pub = FakePublisher()
    death, death_again = mistyped_death_in_another_district()
    child, child_again = fatherless_child_in_another_district()
    out = await deduplicate([death, child], store=dedup_store, publisher=pub) + await deduplicate(
        [death_again, child_again], store=dedup_store, publisher=pub
    )
    assert [o.payload.status for o in out] == [
        RecordStatus.ACCEPTED,
        RecordStatus.ACCEPTED,
        RecordStatus.DUPLICATE_SUSPECTED,
        RecordStatus.DUPLICATE_SUSPECTED,
    ]
    assert [[c.record_id for c in o.payload.candidates] for o in out[2:]] == [
        [death.record_id],
        [child.record_id],
    ]


async def test_linked_candidates_are_kept_and_listed(dedup_store: Any) -> None:
    first, second, entry = copies_too_far_apart()
    pub, registry = FakePublisher(), default_registry()
    await deduplicate([first, second], store=dedup_store, publisher=pub)
    await deduplicate([entry], store=dedup_store, publisher=pub)
    lone, again = (validated(other_child(entry_number=n)) for n in ("1", "2"))
    await deduplicate([lone, again], store=dedup_store, publisher=pub)
    assert len(await review.list_suspects(dedup_store, registry, OFFICER, state=None)) == 2
    [linking] = await review.list_suspects(
        dedup_store, registry, OFFICER, state=ReviewState.OPEN, linked=True
    )
    assert linking.record_id == entry.record_id
    assert linking.linked == (tuple(sorted((first.record_id, second.record_id))),)
    held = await dedup_store.latest_decision(entry.record_id)
    assert held is not None
    assert held.linked == linking.linked


async def test_a_re_keying_naming_a_pair_is_kept_and_listed(dedup_store: Any) -> None:
    original, copy, again = keyed_twice_with_another_slip()
    pub, registry = FakePublisher(), default_registry()
    for event in (again, original, copy):
        await deduplicate([event], store=dedup_store, publisher=pub)
    [listed] = await review.list_suspects(
        dedup_store, registry, DEPARTMENT, state=ReviewState.OPEN, linked=True
    )
    assert listed.record_id == copy.record_id
    assert listed.status == RecordStatus.REJECTED
    assert listed.linked == (tuple(sorted((again.record_id, original.record_id))),)
    assert await review.list_suspects(dedup_store, registry, DEPARTMENT, state=None) == []
    assert (
        await review.list_suspects(
            dedup_store, registry, DEPARTMENT, state=ReviewState.RESOLVED, linked=True
        )
        == []
    )
    with pytest.raises(review.NotFound):
        await review.resolve(
            dedup_store,
            pub,
            registry,
            DEPARTMENT,
            copy.record_id,
            resolution=DuplicateResolution.DISTINCT,
            note=None,
            duplicate_of=None,
            topic=topics.RECORD_DEDUPLICATED,
        )


async def test_another_keying_is_kept_beside_its_record_until_a_new_version(
    dedup_store: Any,
) -> None:
    entry, again, copy = keyed_again_before_its_copy()
    pub = FakePublisher()
    for event in (again, entry):
        await deduplicate([event], store=dedup_store, publisher=pub)
    # Kept once, as a set: adding it again (a wave repeated after a crash) adds nothing.
    await dedup_store.add_keyings([_profile(entry).as_keying_of(_profile(again))])
    [held] = await deduplicate([copy], store=dedup_store, publisher=pub)
    assert held.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    assert [c.record_id for c in held.payload.candidates] == [again.record_id]
    copy_keys = _profile(copy).blocking_keys
    found = await dedup_store.candidates([copy_keys])
    assert [(p.record_id, p.keying) for p in found if p.record_id == again.record_id] == [
        (again.record_id, None),
        (again.record_id, entry.record_id),
    ]


async def test_the_same_version_saved_again_keeps_the_keyings(dedup_store: Any) -> None:
    # A wave repeated (its decisions lost in a crash, or another instance's keying added
    # meanwhile) saves its records' states again at the same version.
    entry, again, copy = keyed_again_before_its_copy()
    await one_by_one(dedup_store, again, entry)
    held = await dedup_store.states([again.record_id, entry.record_id])
    # As a wave builds them: without where the rejected keying is kept.
    await dedup_store.save_states([replace(s, keying_of=None) for s in held.values()])
    assert (await dedup_store.states([entry.record_id]))[entry.record_id].keying_of == (
        again.record_id
    )
    [out] = await one_by_one(dedup_store, copy)
    assert out.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    assert [c.record_id for c in out.payload.candidates] == [again.record_id]


async def test_a_records_new_version_drops_its_other_keyings(dedup_store: Any) -> None:
    entry, again, copy = keyed_again_before_its_copy()
    out = await one_by_one(dedup_store, again, entry, corrected(again), copy)
    assert out[3].payload.status == RecordStatus.ACCEPTED


async def test_a_corrected_keying_is_pulled_from_the_record_it_was_kept_beside(
    dedup_store: Any,
) -> None:
    entry = death_at("25456", "Nguyễn Ngọc Nhân", book_number="01/1978")
    mistaken = death_at("25456", "Trần Văn Bình", book_number="01/1978")
    pub = FakePublisher()
    for event in (entry, mistaken):
        await deduplicate([event], store=dedup_store, publisher=pub)
    [state] = (await dedup_store.states([mistaken.record_id])).values()
    assert state.keying_of == entry.record_id
    [fixed] = await deduplicate(
        [corrected(mistaken, entry_number="99")], store=dedup_store, publisher=pub
    )
    assert fixed.payload.status == RecordStatus.ACCEPTED
    found = await dedup_store.candidates([_profile(entry).blocking_keys])
    assert [p.keying for p in found if p.record_id == entry.record_id] == [None]
    # The keys only the mistaken keying gave the entry went with it.
    its_own = set(_profile(mistaken).blocking_keys) - set(_profile(entry).blocking_keys)
    assert its_own
    found = await dedup_store.candidates([sorted(its_own)])
    assert entry.record_id not in {p.record_id for p in found}


async def test_a_rejection_naming_a_pair_is_superseded_by_a_new_version(dedup_store: Any) -> None:
    original, copy, again = keyed_twice_with_another_slip()
    pub, registry = FakePublisher(), default_registry()
    for event in (again, original, copy):
        await deduplicate([event], store=dedup_store, publisher=pub)
    [fixed] = await deduplicate(
        [corrected(copy, entry_number="77")], store=dedup_store, publisher=pub
    )
    # Its own register entry now, like both: the pair is named again, by the suspicion.
    held = await dedup_store.latest_decision(copy.record_id)
    assert held is not None
    assert held.status == RecordStatus.DUPLICATE_SUSPECTED
    assert held.linked == (pair(again, original),)
    listed = await review.list_suspects(
        dedup_store, registry, DEPARTMENT, state=ReviewState.OPEN, linked=True
    )
    assert (copy.record_id, 1) not in {(d.record_id, d.version) for d in listed}
    superseded = await review.list_suspects(
        dedup_store, registry, DEPARTMENT, state=ReviewState.SUPERSEDED, linked=True
    )
    assert [(d.record_id, d.version) for d in superseded] == [(copy.record_id, 1)]


async def test_records_naming_a_pair_are_paged_and_scoped(dedup_store: Any) -> None:
    first, second, entry = copies_too_far_apart()  # a suspect, in district 703
    original, copy, again = keyed_twice_with_another_slip()  # a rejection: 703 and 707
    registry = default_registry()
    await one_by_one(dedup_store, first, second, entry, again, original, copy)

    async def page(who: Principal, after: str | None = None) -> list[str]:
        found = await review.list_suspects(
            dedup_store, registry, who, state=ReviewState.OPEN, linked=True, limit=1, after=after
        )
        return [f"{d.record_id}:v{d.version:010d}" for d in found]

    ids = sorted(f"{e.record_id}:v0000000001" for e in (entry, copy))
    assert await page(DEPARTMENT) == ids[:1]
    assert await page(DEPARTMENT, ids[0]) == ids[1:]
    assert await page(DEPARTMENT, ids[1]) == []
    district_707 = Principal("phong-tp-707", "707", Role.DISTRICT_OFFICER)
    assert await page(district_707) == [f"{copy.record_id}:v0000000001"]


async def test_a_pair_check_closes_the_rejection_and_distinct_stops_naming_the_pair(
    dedup_store: Any,
) -> None:
    original, copy, again = keyed_twice_with_another_slip()
    registry = default_registry()
    await one_by_one(dedup_store, again, original, copy)
    with pytest.raises(review.NotFound):  # accepted: nothing to check
        await review.check_pair(
            dedup_store, registry, DEPARTMENT, again.record_id, resolution=DISTINCT
        )
    with pytest.raises(review.OutOfScope):  # entered in another district
        await review.check_pair(dedup_store, registry, OFFICER, copy.record_id, resolution=DISTINCT)
    checked = await review.check_pair(
        dedup_store, registry, DEPARTMENT, copy.record_id, resolution=DISTINCT, note="hai người"
    )
    assert checked.status == RecordStatus.REJECTED
    assert checked.review_state == ReviewState.RESOLVED
    assert checked.review is not None
    assert checked.review.note == "hai người"
    assert checked.review.reviewer == DEPARTMENT.username
    again_checked = await review.check_pair(
        dedup_store, registry, DEPARTMENT, copy.record_id, resolution=DISTINCT
    )
    assert again_checked.review == checked.review  # the same finding: the same answer
    with pytest.raises(review.Conflict):
        await review.check_pair(
            dedup_store, registry, DEPARTMENT, copy.record_id, resolution=DUPLICATE
        )

    def listed(state: ReviewState) -> Any:
        return review.list_suspects(dedup_store, registry, DEPARTMENT, state=state, linked=True)

    assert await listed(ReviewState.OPEN) == []
    assert [d.record_id for d in await listed(ReviewState.RESOLVED)] == [copy.record_id]
    # Its record's new version leaves the check as it was.
    await one_by_one(dedup_store, corrected(copy, entry_number="77"))
    assert [(d.record_id, d.version) for d in await listed(ReviewState.RESOLVED)] == [
        (copy.record_id, 1)
    ]
    # Like both, as before (see the test above), but the pair was checked: not named.
    held = await dedup_store.latest_decision(copy.record_id)
    assert held is not None
    assert held.status == RecordStatus.DUPLICATE_SUSPECTED
    assert held.linked == ()


async def _checked_while_down(
    store: Any, monkeypatch: pytest.MonkeyPatch, method: str, resolution: DuplicateResolution
) -> tuple[Any, Any, Any]:
    """:func:`keyed_twice_with_another_slip`'s rejection checked while ``method`` fails."""
    original, copy, again = keyed_twice_with_another_slip()
    await one_by_one(store, again, original, copy)

    async def down(*_: Any) -> None:
        raise RetryableError("dedup store: down")

    with monkeypatch.context() as patched:
        patched.setattr(store, method, down)
        with pytest.raises(RetryableError):
            await review.check_pair(
                store, default_registry(), DEPARTMENT, copy.record_id, resolution=resolution
            )
    return original, copy, again


async def test_a_distinct_pair_check_cut_short_is_completed_by_the_relay(
    dedup_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, copy, _ = await _checked_while_down(dedup_store, monkeypatch, "add_distinct_pairs", DISTINCT)
    pub = FakePublisher()
    assert await review.publish_pending(dedup_store, pub) == 1
    assert await review.publish_pending(dedup_store, pub) == 0
    assert pub.events(topics.RECORD_DEDUPLICATED) == []  # a pair check publishes nothing
    await one_by_one(dedup_store, corrected(copy, entry_number="77"))
    held = await dedup_store.latest_decision(copy.record_id)
    assert held is not None
    assert held.status == RecordStatus.DUPLICATE_SUSPECTED
    assert held.linked == ()


async def test_a_duplicate_pair_check_cut_short_is_finished_by_the_relay_unpublished(
    dedup_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    original, copy, again = await _checked_while_down(
        dedup_store, monkeypatch, "mark_published", DUPLICATE
    )
    registry, pub = default_registry(), FakePublisher()
    # The same finding again (the clerk's retry) answers the check as recorded.
    checked = await review.check_pair(
        dedup_store, registry, DEPARTMENT, copy.record_id, resolution=DUPLICATE
    )
    assert checked.review is not None
    assert checked.review.resolution == DUPLICATE
    assert await review.publish_pending(dedup_store, pub) == 0
    assert pub.events(topics.RECORD_DEDUPLICATED) == []
    assert await dedup_store.distinct_pairs([pair_id(*pair(again, original))]) == {}


async def test_a_pulled_keying_gives_no_keys_back_to_a_record_deactivated_meanwhile(
    mongo_stores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, reviewer = mongo_stores(), mongo_stores()
    entry, again, _ = keyed_again_before_its_copy()
    await one_by_one(store, again, entry)
    read = mongo_store._find_in

    async def read_then_deactivated(*args: Any) -> Any:
        docs = await read(*args)
        await reviewer.deactivate(again.record_id, 1)  # a reviewer's "duplicate", meanwhile
        return docs

    monkeypatch.setattr(mongo_store, "_find_in", read_then_deactivated)
    await store.drop_keyings([(again.record_id, entry.record_id)])
    monkeypatch.setattr(mongo_store, "_find_in", read)
    found = await store.candidates([_profile(again).blocking_keys])
    assert again.record_id not in {p.record_id for p in found}


async def test_a_record_holds_one_keying_per_rejected_record(dedup_store: Any) -> None:
    entry, again, _ = keyed_again_before_its_copy()
    await one_by_one(dedup_store, entry, again)
    # The same rejected record's keying, other content (a repeat after a normalisation
    # change, say): the first stays, on both stores.
    other = death_at("25456", "Nguyễn Ngoc Nhan", book_number="01/1978")
    twin = replace(_profile(other).as_keying_of(_profile(entry)), keying=again.record_id)
    await dedup_store.add_keyings([twin])
    found = await dedup_store.candidates([_profile(entry).blocking_keys, twin.blocking_keys])
    assert [p.keying for p in found if p.record_id == entry.record_id] == [None, again.record_id]
    [kept] = [p for p in found if p.keying == again.record_id]
    assert kept.subjects == _profile(again).subjects


async def test_a_keying_is_kept_once_even_over_an_older_releases_form(mongo_stores: Any) -> None:
    store = mongo_stores()
    entry, again, _ = keyed_again_before_its_copy()
    await one_by_one(store, again, entry)
    records = store._records  # noqa: SLF001 - the test plays an older release's write
    await records.update_one({"_id": again.record_id}, {"$unset": {"keyings.0.keying_unit": ""}})
    await store.add_keyings([_profile(entry).as_keying_of(_profile(again))])  # a wave repeated
    doc = await records.find_one({"_id": again.record_id})
    assert [k["keying"] for k in doc["keyings"]] == [entry.record_id]


async def test_review_flow(dedup_store: Any) -> None:
    pub, registry = FakePublisher(), default_registry()
    a, b, c = (validated(birth(entry_number=n)) for n in ("1", "2", "3"))
    entered_at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    b = b.model_copy(update={"entered_at": entered_at})
    await deduplicate([a, b], store=dedup_store, publisher=pub)
    listed = await review.list_suspects(dedup_store, registry, OFFICER, state=ReviewState.OPEN)
    assert [d.record_id for d in listed] == [b.record_id]
    assert listed[0].record == b.payload.record
    await review.resolve(
        dedup_store, pub, registry, OFFICER, b.record_id, resolution=DuplicateResolution.DISTINCT
    )
    assert await review.list_suspects(dedup_store, registry, OFFICER, state=ReviewState.OPEN) == []
    resolved = await review.list_suspects(
        dedup_store, registry, OFFICER, state=ReviewState.RESOLVED
    )
    assert resolved[0].review is not None
    assert resolved[0].review.reviewer == "phong-tp"
    assert resolved[0].entered_at == entered_at  # kept for the resolving event
    assert await review.publish_pending(dedup_store, pub) == 0

    # b, unchanged, is not flagged against a again; c is flagged against both
    same_b = validated(b.payload.record, record_id=b.record_id, version=2)
    out = await deduplicate([same_b, c], store=dedup_store, publisher=pub)
    assert out[0].payload.status == RecordStatus.ACCEPTED
    assert {x.record_id for x in out[1].payload.candidates} == {a.record_id, b.record_id}
    await review.resolve(
        dedup_store,
        pub,
        registry,
        OFFICER,
        c.record_id,
        resolution=DuplicateResolution.DUPLICATE,
        duplicate_of=b.record_id,
    )
    d = validated(birth(entry_number="4"))
    [out_d] = await deduplicate([d], store=dedup_store, publisher=pub)
    assert {x.record_id for x in out_d.payload.candidates} == {a.record_id, b.record_id}


class _LookupReplies(monitoring.CommandListener):
    """Ids of the documents each candidate lookup (a ``blocking_keys`` find) returned."""

    def __init__(self) -> None:
        self.lookups: set[int] = set()
        self.returned: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        if event.command_name == "find" and "blocking_keys" in command.get("filter", {}):
            self.lookups.add(event.request_id)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.request_id in self.lookups:
            self.returned += [d["_id"] for d in event.reply["cursor"]["firstBatch"]]

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """A failed lookup returned nothing."""


async def test_a_wave_lookup_returns_each_profile_once(
    mongodb_url: str, database_name: str
) -> None:
    # 40 births with no blocking key in common: each lookup finds only the wave's own
    # profiles (saved before the lookup). Keys sorted across the wave spread each
    # profile's keys over several queries, which returned it once per query.
    families = ["Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ"]
    givens = ["Khôi", "Lan", "Minh", "Hùng", "Thảo"]
    events = [
        validated(
            birth(
                child=f"{families[i % 8]} Văn {givens[i // 8]}",
                born=f"{1960 + i}-0{1 + i % 9}-1{i % 10}",
                mother=f"{families[(i + 1) % 8]} Thị {givens[i // 8]}",
                father=f"{families[(i + 2) % 8]} Văn {givens[(i // 8 + 1) % 5]}",
                registration_date=f"{1960 + i}-1{i % 3}-2{i % 8}",
                entry_number=str(100 + i),
            )
        )
        for i in range(40)
    ]
    profiles = [
        build_profile(e.payload.record, record_id=e.record_id, version=1, unit_code=e.unit_code)
        for e in events
    ]
    keys = [k for p in profiles if p is not None for k in p.blocking_keys]
    assert all(p is not None for p in profiles)  # births: every one has a profile
    assert len(keys) == len(set(keys))
    assert len(keys) > 5 * 40  # several queries' worth of keys
    listener = _LookupReplies()
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
        mongodb_url, event_listeners=[listener]
    )
    try:
        store = MongoDedupStore(client[database_name])
        await store.ensure_indexes()
        out = await deduplicate(events, store=store, publisher=FakePublisher())
        assert {o.payload.status for o in out} == {RecordStatus.ACCEPTED}
        assert len(listener.lookups) >= math.ceil(len(keys) / mongo_store.IN_CHUNK) > 1
        assert sorted(listener.returned) == sorted(e.record_id for e in events)
    finally:
        await client.drop_database(database_name)
        client.close()

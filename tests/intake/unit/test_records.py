from datetime import timedelta

import pytest

from hotich_contracts import topics
from hotich_contracts.units import default_registry
from hotich_intake.adapters.memory import InMemoryRecordStore
from hotich_intake.service_layer import records
from hotich_intake.service_layer.records import Submission
from hotich_runtime.auth import Principal, Role
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import FakePublisher
from tests.factories import record

CLERK = Principal("clerk3", "25459", Role.CLERK)


class DownPublisher(FakePublisher):
    async def publish(self, topic, events):  # type: ignore[no-untyped-def]
        raise RetryableError("kafka down")


async def submit(store, pub, *subs, principal=CLERK):  # type: ignore[no-untyped-def]
    return await records.submit_records(store, pub, principal, list(subs), correlation_id="c")


async def test_submission_is_published_then_marked_and_visible_to_its_unit() -> None:
    store, pub = InMemoryRecordStore(), FakePublisher()
    [result] = await submit(store, pub, Submission(record()))
    assert result.outcome == "created"
    [event] = pub.events(topics.RECORD_ENTERED)
    assert event.record_id == result.record_id
    assert event.unit_code == "25459"
    assert store.outbox == {}
    registry = default_registry()
    assert await records.get_record(store, registry, CLERK, result.record_id) is not None
    other_commune = Principal("x", "25456", Role.CLERK)
    assert await records.get_record(store, registry, other_commune, result.record_id) is None
    district = Principal("d", "703", Role.DISTRICT_OFFICER)
    assert await records.get_record(store, registry, district, result.record_id) is not None
    other_district = Principal("d", "705", Role.DISTRICT_OFFICER)
    assert await records.get_record(store, registry, other_district, result.record_id) is None


async def test_explicit_key_same_body_repeats_other_body_conflicts() -> None:
    store, pub = InMemoryRecordStore(), FakePublisher()
    [first] = await submit(store, pub, Submission(record(), "k1"))
    [again] = await submit(store, pub, Submission(record(), "k1"))
    [other] = await submit(store, pub, Submission(record(entry_number="99"), "k1"))
    assert again.outcome == "repeated"
    assert again.record_id == first.record_id
    assert other.outcome == "conflict"
    assert other.record_id == first.record_id
    assert len(pub.events(topics.RECORD_ENTERED)) == 1


async def test_without_a_key_the_register_coordinates_make_a_retry_safe() -> None:
    store, pub = InMemoryRecordStore(), FakePublisher()
    [first] = await submit(store, pub, Submission(record()))
    [retry] = await submit(store, pub, Submission(record()))
    [changed] = await submit(store, pub, Submission(record(page=7)))
    assert retry.outcome == "repeated"
    assert retry.record_id == first.record_id
    assert changed.outcome == "conflict"
    assert changed.message_vi
    # explicit distinct keys say "these are two submissions": dedup will judge them
    [a] = await submit(store, pub, Submission(record(), "a"))
    assert a.outcome == "created"


async def test_duplicates_inside_one_batch_create_one_record() -> None:
    store, pub = InMemoryRecordStore(), FakePublisher()
    results = await submit(
        store,
        pub,
        Submission(record()),
        Submission(record()),
        Submission(record(entry_number="16")),
    )
    assert [r.outcome for r in results] == ["created", "repeated", "created"]
    assert results[1].record_id == results[0].record_id
    assert len(pub.events(topics.RECORD_ENTERED)) == 2


async def test_kafka_down_keeps_the_record_in_the_outbox_and_a_resend_publishes_it() -> None:
    store = InMemoryRecordStore()
    with pytest.raises(RetryableError):
        await submit(store, DownPublisher(), Submission(record(), "k"))
    [(record_ids, _)] = store.outbox.values()
    [record_id] = record_ids
    pub = FakePublisher()
    [again] = await submit(store, pub, Submission(record(), "k"))
    assert again.outcome == "repeated"
    assert again.record_id == record_id
    [published] = pub.events(topics.RECORD_ENTERED)
    assert published.event_id == store.events[record_id].event_id
    assert store.outbox == {}


async def test_the_relay_publishes_what_kafka_did_not_acknowledge() -> None:
    store = InMemoryRecordStore()
    with pytest.raises(RetryableError):
        await submit(store, DownPublisher(), Submission(record()))
    pub = FakePublisher()
    assert await records.relay_unpublished(store, pub, timedelta(seconds=-1)) == 1
    assert len(pub.events(topics.RECORD_ENTERED)) == 1
    assert store.outbox == {}


async def test_roles_and_sources() -> None:
    store, pub = InMemoryRecordStore(), FakePublisher()
    with pytest.raises(records.NotAllowed):
        await submit(
            store, pub, Submission(record()), principal=Principal("o", "703", Role.DISTRICT_OFFICER)
        )
    operator = Principal("m", "72", Role.MIGRATION_OPERATOR)
    [manual] = await submit(store, pub, Submission(record()), principal=operator)
    [migrated] = await submit(
        store, pub, Submission(record(source="migration")), principal=operator
    )
    [clerk_migration] = await submit(
        store, pub, Submission(record(source="migration", entry_number="2"))
    )
    assert manual.outcome == "forbidden"
    assert migrated.outcome == "created"
    assert clerk_migration.outcome == "forbidden"


async def test_correction_bumps_the_version_and_only_the_own_unit_may_correct() -> None:
    store, pub = InMemoryRecordStore(), FakePublisher()
    [first] = await submit(store, pub, Submission(record()))
    fixed = await records.correct_record(
        store, pub, CLERK, first.record_id, record(page=3), correlation_id="c"
    )
    assert fixed.version == 2
    v2 = pub.events(topics.RECORD_ENTERED)[-1]
    assert v2.record_version == 2
    assert v2.record_id == first.record_id
    with pytest.raises(records.NotFound):
        await records.correct_record(
            store,
            pub,
            Principal("x", "25456", Role.CLERK),
            first.record_id,
            record(),
            correlation_id="c",
        )
    with pytest.raises(RetryableError):
        await records.correct_record(
            store, DownPublisher(), CLERK, first.record_id, record(page=4), correlation_id="c"
        )
    assert store.views[first.record_id].version == 3  # staged, waiting in the outbox
    resend = await records.correct_record(
        store, pub, CLERK, first.record_id, record(page=4), correlation_id="c"
    )
    assert resend.outcome == "repeated"
    assert resend.version == 3
    assert pub.events(topics.RECORD_ENTERED)[-1].record_version == 3
    assert store.outbox == {}


def _ids(*subs: Submission, principal: Principal = CLERK) -> list[str]:
    return [records.record_id_for(records.scope_key(principal, s)) for s in subs]


async def test_record_ids_are_named_by_their_scope_key() -> None:
    store, pub = InMemoryRecordStore(), FakePublisher()
    sub = Submission(record(entry_number="31"))
    [first] = await submit(store, pub, sub)
    assert [first.record_id] == _ids(sub)
    other_unit = Principal("c9", "25456", Role.CLERK)
    [elsewhere] = await submit(store, pub, sub, principal=other_unit)
    assert elsewhere.outcome == "created"
    assert elsewhere.record_id != first.record_id


async def test_a_resend_does_not_republish_a_record_whose_own_entry_is_closed() -> None:
    # k is stored and published (its writer's entry closed). Writer A opens an entry
    # naming [k, z] (it will lose k) and has not stored z yet when k is resent: k's
    # event is in Kafka, so the resend publishes nothing and leaves A's entry alone; if
    # A's publish then fails, the relay still has z to send, and only z.
    store, pub = InMemoryRecordStore(), FakePublisher()
    k, z = Submission(record(entry_number="41")), Submission(record(entry_number="42"))
    await submit(store, pub, k)
    rid_k, rid_z = _ids(k, z)
    await store.open_outbox("entry-of-a", [rid_k, rid_z])

    resend = FakePublisher()
    [again] = await submit(store, resend, k)
    assert again.outcome == "repeated"
    assert "entry-of-a" in store.outbox
    assert resend.events(topics.RECORD_ENTERED) == []

    # z is stored, then Kafka refuses its publish: the relay sends it once
    with pytest.raises(RetryableError):
        await submit(store, DownPublisher(), z)
    assert rid_z in store.views
    relayed = FakePublisher()
    await records.relay_unpublished(store, relayed, timedelta(seconds=-1))
    assert [e.record_id for e in relayed.events(topics.RECORD_ENTERED)] == [rid_z]
    assert store.outbox == {}


async def test_a_resend_publishes_the_waiting_records_of_the_entry_that_stored_them() -> None:
    # A stored k and z, then Kafka refused: A's entry stays open. A resend of k alone
    # publishes k, and, A being past its insert, closes A's entry and publishes z too.
    store = InMemoryRecordStore()
    k, z = Submission(record(entry_number="43")), Submission(record(entry_number="44"))
    with pytest.raises(RetryableError):
        await submit(store, DownPublisher(), k, z)
    assert len(store.outbox) == 1
    resend = FakePublisher()
    [again] = await submit(store, resend, k)
    assert again.outcome == "repeated"
    assert sorted(e.record_id for e in resend.events(topics.RECORD_ENTERED)) == sorted(_ids(k, z))
    assert store.outbox == {}


async def test_a_record_created_here_is_published_once_even_if_a_waiting_entry_names_it() -> None:
    # X opened an entry for [k, z] and lost z to C; C creates z and repeats k: z goes out
    # once, in C's publish, and X's entry (owning nothing) is left to its writer or to
    # the relay, which sends nothing for it.
    store, pub = InMemoryRecordStore(), FakePublisher()
    k, z = Submission(record(entry_number="51")), Submission(record(entry_number="52"))
    await submit(store, pub, k)
    rid_k, rid_z = _ids(k, z)
    await store.open_outbox("entry-of-x", [rid_k, rid_z])
    mine = FakePublisher()
    results = await submit(store, mine, k, z)
    assert [r.outcome for r in results] == ["repeated", "created"]
    assert [e.record_id for e in mine.events(topics.RECORD_ENTERED)] == [rid_z]
    relayed = FakePublisher()
    await records.relay_unpublished(store, relayed, timedelta(seconds=-1))
    assert relayed.events(topics.RECORD_ENTERED) == []
    assert store.outbox == {}


async def test_a_record_too_large_for_one_kafka_message_is_refused_and_not_stored() -> None:
    store, pub = InMemoryRecordStore(), FakePublisher()
    huge = record(entry_number="61", unreadable_fields=["notes"] * 40_000)
    assert len(huge.model_dump_json()) > records.MAX_RECORD_JSON_BYTES
    fine = Submission(record(entry_number="62"))
    results = await submit(store, pub, Submission(huge), fine)
    assert [r.outcome for r in results] == ["too_large", "created"]
    assert results[0].message_vi
    assert results[0].message_en
    assert [e.record_id for e in pub.events(topics.RECORD_ENTERED)] == [results[1].record_id]
    assert list(store.views) == [results[1].record_id]
    with pytest.raises(records.RecordTooLarge):
        await records.correct_record(
            store, pub, CLERK, str(results[1].record_id), huge, correlation_id="c"
        )

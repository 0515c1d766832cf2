import copy
import dataclasses
from typing import Any

from hotich_contracts.events import RecordDeduplicated, RecordStatus, RecordValidated
from hotich_contracts.examples import example_details, example_record
from hotich_contracts.records import RECORD_ADAPTER, RecordType
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.domain.matching import find_matches, linked_pairs
from hotich_dedup.domain.model import Decision, ReviewState
from hotich_dedup.domain.profile import MatchProfile, build_profile
from hotich_dedup.domain.scoring import compare
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.ports import FakePublisher
from tests.dedup.builders import (
    birth,
    birth_at,
    copies_too_far_apart,
    death_at,
    fatherless_child_in_another_district,
    keyed_again_before_its_copy,
    keyed_twice_with_another_slip,
    mistyped_death_in_another_district,
    one_by_one,
    pair,
    statuses,
    validated,
)

ACCEPTED, REJECTED = RecordStatus.ACCEPTED, RecordStatus.REJECTED
SUSPECTED = RecordStatus.DUPLICATE_SUSPECTED


async def run(store: InMemoryDedupStore, *events: RecordValidated) -> list[RecordDeduplicated]:
    return await deduplicate(list(events), store=store, publisher=FakePublisher())


def profile_of(event: RecordValidated) -> MatchProfile:
    profile = build_profile(
        event.payload.record, record_id=event.record_id, version=1, unit_code=event.unit_code
    )
    assert profile is not None
    return profile


def shared_keys(*events: RecordValidated) -> set[str]:
    """The blocking keys every one of these records is stored and looked up under."""
    return set.intersection(*(set(profile_of(event).blocking_keys) for event in events))


async def test_a_birth_registered_again_at_another_commune_is_suspected() -> None:
    store = InMemoryDedupStore()
    original = validated(birth())
    again = birth_at(
        "25462",
        child="TRẦN  MINH KHOI",  # case, spacing, marks left out
        registration_date="2011-06-01",
    )
    first, second = await run(store, original, again)
    assert first.payload.status == RecordStatus.ACCEPTED
    assert second.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    [candidate] = second.payload.candidates
    assert candidate.record_id == original.record_id
    assert candidate.score > 0.9
    assert {
        "details.child.full_name",
        "details.child.date_of_birth",
        "details.mother.full_name",
        "details.father.full_name",
    } <= set(candidate.matched_fields)


async def test_the_same_person_keyed_again_in_the_same_book_is_suspected() -> None:
    # What the end-to-end skeleton would do if it posted the example birth twice.
    store = InMemoryDedupStore()
    out = await run(store, validated(birth(entry_number="15")), validated(birth(entry_number="16")))
    assert [o.payload.status for o in out] == [
        RecordStatus.ACCEPTED,
        RecordStatus.DUPLICATE_SUSPECTED,
    ]


async def test_partial_dates_are_compared_at_their_precision() -> None:
    store = InMemoryDedupStore()
    old = validated(birth(born="1975", entry_number="1"))
    new = validated(birth(born="1975-04-30", entry_number="2", child="Trần Khôi"))
    other_year = validated(birth(born="1977", entry_number="3"))
    out = await run(store, old, new, other_year)
    assert [o.payload.status for o in out] == [
        RecordStatus.ACCEPTED,
        RecordStatus.DUPLICATE_SUSPECTED,
        RecordStatus.ACCEPTED,
    ]


async def test_twins_or_namesakes_with_other_parents_are_not_suspected() -> None:
    store = InMemoryDedupStore()
    child = validated(birth(entry_number="1"))
    sibling = validated(birth(entry_number="2", child="Trần Minh Thắng"))
    namesake = validated(birth(entry_number="3", mother="Lê Thị Hoa", father="Phạm Văn Đông"))
    out = await run(store, child, sibling, namesake)
    assert all(o.payload.status == RecordStatus.ACCEPTED for o in out)


async def test_namesakes_born_the_same_day_with_no_parent_on_both_sides_are_not_suspected() -> None:
    # Child's name, sex, birth date and place agree: 16 points, but that is all namesakes
    # born the same day share when no parent is named on both sides (an abandoned child,
    # a father-only against a mother-only entry): found at 300,000 generated records.
    store = InMemoryDedupStore()
    both = validated(birth(entry_number="1"))
    foundling = validated(birth(entry_number="2", mother=None, father=None))
    mother_only = validated(birth(entry_number="3", father=None))
    father_only = validated(birth(entry_number="4", mother=None))
    out = await run(store, foundling, father_only, mother_only)
    assert [o.payload.status for o in out] == [RecordStatus.ACCEPTED] * 3
    # A parent named on both sides tells them apart, and here agrees: a duplicate.
    [again] = await run(store, both)
    assert again.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    assert {c.record_id for c in again.payload.candidates} == {
        mother_only.record_id,
        father_only.record_id,
    }


async def test_a_parents_other_identity_number_counts_against() -> None:
    # Same child, same father's name, the mother's name and number differ: 8 + 7 + 0.5
    # (child) + 5 + 1 (father) - 6 + 1 (mother's name, year) = 16.5 points before the
    # numbers; the mothers' different numbers of the same kind take 4 away: 12.5.
    store = InMemoryDedupStore()
    first = validated(birth(entry_number="1", mother="Nguyễn Thị Thúy"))
    details = {**example_details(RecordType.BIRTH)}
    other = copy.deepcopy(details)
    other["mother"]["full_name"] = "Lê Thị Lan"
    other["mother"]["identity_number"] = "290899999"
    other["child"]["full_name"] = "Trần Minh Khôi"
    other["child"]["date_of_birth"] = "2010-02-27"
    other["father"]["full_name"] = "Trần Văn Hùng"
    second = validated(
        RECORD_ADAPTER.validate_python(
            example_record(RecordType.BIRTH, details=other, entry_number="2")
        )
    )
    same_number = copy.deepcopy(other)
    same_number["mother"]["identity_number"] = details["mother"]["identity_number"]
    third = validated(
        RECORD_ADAPTER.validate_python(
            example_record(RecordType.BIRTH, details=same_number, entry_number="3")
        )
    )
    out = await run(store, first, second)
    assert [o.payload.status for o in out] == [RecordStatus.ACCEPTED, RecordStatus.ACCEPTED]
    # With the mother's number the same (+5 instead of -4), the same pair is suspected.
    [_, last] = await run(InMemoryDedupStore(), first, third)
    assert last.payload.status == RecordStatus.DUPLICATE_SUSPECTED


async def test_marriages_and_deaths_are_matched_too() -> None:
    store = InMemoryDedupStore()
    details = example_details(RecordType.MARRIAGE)
    details["wife"]["full_name"] = "Võ Ngọc Hân"  # middle name left out
    marriage = RECORD_ADAPTER.validate_python(example_record(RecordType.MARRIAGE))
    again = RECORD_ADAPTER.validate_python(
        example_record(RecordType.MARRIAGE, details=details, entry_number="99")
    )
    death = RECORD_ADAPTER.validate_python(example_record(RecordType.DEATH))
    death_details = example_details(RecordType.DEATH)
    death_details["deceased"]["full_name"] = "Lê Văn Tam"
    death_again = RECORD_ADAPTER.validate_python(
        example_record(RecordType.DEATH, details=death_details, book_number="02/2010")
    )
    out = await run(
        store, validated(marriage), validated(again), validated(death), validated(death_again)
    )
    assert [o.payload.status for o in out] == [
        RecordStatus.ACCEPTED,
        RecordStatus.DUPLICATE_SUSPECTED,
        RecordStatus.ACCEPTED,
        RecordStatus.DUPLICATE_SUSPECTED,
    ]


async def test_a_mistyped_death_known_to_the_month_is_found_in_another_district() -> None:
    # A pair of the generated backlog: registered in Phường 1 (thị xã Tây Ninh), then again
    # in Truông Mít (Dương Minh Châu) with a slip in the given name. The name key differs,
    # the month key stays in its district and the date has no day: only the month with
    # the initials and the birth year, province-wide, ties them.
    store = InMemoryDedupStore()
    original, again = mistyped_death_in_another_district()
    assert shared_keys(original, again) == {"death|y|nn|1977|1978-01"}
    first, second = await run(store, original, again)
    assert first.payload.status == RecordStatus.ACCEPTED
    assert second.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    assert [c.record_id for c in second.payload.candidates] == [original.record_id]
    # Another person of the same initials, year of birth and month of death meets it
    # under that key, and is told apart by the name.
    other = death_at("25582", "Nguyễn Như Ngọc", book_number="2/1980", entry_number="4")
    assert "death|y|nn|1977|1978-01" in shared_keys(original, other)
    [third] = await run(store, other)
    assert third.payload.status == RecordStatus.ACCEPTED


async def test_within_a_batch_only_the_later_record_is_suspected() -> None:
    store = InMemoryDedupStore()
    a, b = validated(birth(entry_number="1")), validated(birth(entry_number="2"))
    out = await run(store, a, b)
    assert out[0].payload.status == RecordStatus.ACCEPTED
    assert out[1].payload.candidates[0].record_id == a.record_id


async def test_a_new_version_is_decided_again_and_supersedes_the_open_review() -> None:
    store = InMemoryDedupStore()
    a = validated(birth(entry_number="1"))
    b = validated(birth(entry_number="2"))
    await run(store, a, b)
    # the clerk corrects b into another child: version 2 is accepted
    b2 = validated(
        birth(entry_number="2", child="Trần Thị Mai", born="2011-09-09"),
        record_id=b.record_id,
        version=2,
    )
    [out] = await run(store, b2)
    assert out.payload.status == RecordStatus.ACCEPTED
    assert (await store.latest_decision(b.record_id)).version == 2  # type: ignore[union-attr]
    kept = await store.decisions([(b.record_id, 1)])
    assert kept[(b.record_id, 1)].review_state == "superseded"


def test_the_broad_keys_stay_in_their_district_and_both_parents_reach_across() -> None:
    from hotich_dedup.domain.profile import blocking_area, build_profile

    assert (blocking_area("25459"), blocking_area("25462"), blocking_area("703")) == (
        "703",
        "703",
        "703",
    )
    assert blocking_area("25486") == "705"
    assert blocking_area("72") == blocking_area("no-such-unit") == "*"  # province-wide

    def keys(unit: str, **overrides: Any) -> set[str]:
        profile = build_profile(
            birth(born="2010", **overrides), record_id="r", version=1, unit_code=unit
        )
        assert profile is not None
        return set(profile.blocking_keys)

    here, same_district, other_district = keys("25459"), keys("25462"), keys("25486")
    parent_keys = {k for k in here if k.startswith("birth|p|")}
    assert parent_keys
    assert parent_keys <= same_district  # a parent and the year, within 703
    assert parent_keys.isdisjoint(other_district)  # ... not in 705
    both = {k for k in here if k.startswith("birth|pp|")}
    assert len(both) == 1
    assert both <= other_district  # both parents and the year: province-wide
    assert not any(k.startswith("birth|pp|") for k in keys("25459", father=None))


async def test_a_mistyped_child_with_a_partial_date_is_found_in_another_district() -> None:
    # Only the parents and the year are left to tie these two (the child's family name
    # mistyped, a year for a date): the both-parents key reaches across districts.
    store = InMemoryDedupStore()
    original = validated(birth(child="Huỳnh Văn Đông", born="1972"))
    again = birth_at("25486", child="Hynh Văn Đông", born="1972", book_number="02/1972")
    first, second = await run(store, original, again)
    assert first.payload.status == RecordStatus.ACCEPTED
    assert second.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    assert [c.record_id for c in second.payload.candidates] == [original.record_id]


async def test_a_mistyped_child_without_a_father_is_found_in_another_district() -> None:
    # A pair of the generated backlog: no father on the record, a year for a date and a
    # slip in the given name. The name key differs, and the mother's key stays in its
    # district: the mother's name with the child's year and initials reaches across.
    store = InMemoryDedupStore()
    original, again = fatherless_child_in_another_district()
    assert shared_keys(original, again) == {"birth|m|le|tien|1977|lp"}
    first, second = await run(store, original, again)
    assert first.payload.status == RecordStatus.ACCEPTED
    assert second.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    assert [c.record_id for c in second.payload.candidates] == [original.record_id]
    # Her other son of that year meets it under that key, and is told apart.
    brother = birth_at(
        "25618",
        child="Lê Văn Phát",
        born="1977",
        mother="Lê Thị Tiên",
        father=None,
        book_number="01/1999",
        entry_number="8",
    )
    assert "birth|m|le|tien|1977|lp" in shared_keys(original, brother)
    [third] = await run(store, brother)
    assert third.payload.status == RecordStatus.ACCEPTED


def test_the_name_keys_carry_the_mothers_name_or_the_spouses_birth_year() -> None:
    from hotich_dedup.domain.profile import build_profile

    def name_keys(record: Any, unit: str = "25459") -> set[str]:
        profile = build_profile(record, record_id="r", version=1, unit_code=unit)
        assert profile is not None
        return {k for k in profile.blocking_keys if k.split("|")[1] == "n"}

    [child] = name_keys(birth(born="2010"))
    assert child == "birth|n|child|tran|khoi|2010|thuy"  # province-wide, with the mother
    assert name_keys(birth(born="2010"), unit="25486") == {child}
    assert name_keys(birth(born="2010", mother="Nguyễn Thị Lan")) != {child}
    assert name_keys(birth(born="2010", mother=None)) == {"birth|n|child|tran|khoi|2010|?"}
    marriage = RECORD_ADAPTER.validate_python(example_record(RecordType.MARRIAGE))
    parts = {k.split("|")[2]: k.split("|") for k in name_keys(marriage)}
    assert set(parts) == {"husband", "wife"}
    # each spouse's key: the name, the birth year, then the other spouse's birth year
    assert parts["husband"][-1] == parts["wife"][-2] != "?"
    assert parts["wife"][-1] == parts["husband"][-2] != "?"
    assert parts["husband"][-1] != parts["wife"][-1]


async def test_a_child_written_without_marks_and_a_year_is_found_in_another_district() -> None:
    # Only the folded names and the year tie these (no day of birth): the name key,
    # with the mother's given name, reaches across districts.
    store = InMemoryDedupStore()
    original = validated(birth(born="1975"))
    again = birth_at("25486", child="TRAN MINH KHOI", born="1975", father=None)
    first, second = await run(store, original, again)
    assert first.payload.status == RecordStatus.ACCEPTED
    assert second.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    assert [c.record_id for c in second.payload.candidates] == [original.record_id]


def test_the_parent_keys_carry_a_tail_and_the_day_key_of_a_birth_stays_in_its_district() -> None:
    from hotich_dedup.domain.profile import build_profile

    def keys(record: Any, unit: str = "25459") -> list[str]:
        profile = build_profile(record, record_id="r", version=1, unit_code=unit)
        assert profile is not None
        return list(profile.blocking_keys)

    def parent(record: Any, role: str) -> str:
        [key] = [k for k in keys(record) if k.startswith(f"birth|p|{role}|")]
        return key

    # the mother's key: the child's family initial; the father's: the mother's given one
    assert parent(birth(born="2010"), "mother") == "birth|p|mother|nguyen|thuy|2010|703|t"
    assert parent(birth(born="2010"), "father") == "birth|p|father|tran|hung|2010|703|t"
    # what each survives: the child's given name (mother's key), the whole child's name
    # with a family name taken from the mother (father's key)
    renamed = birth(born="2010", child="Trần Thị Mai")
    assert parent(renamed, "mother") == parent(birth(born="2010"), "mother")
    other_family = birth(born="2010", child="Nguyễn Văn Bình")
    assert parent(other_family, "father") == parent(birth(born="2010"), "father")
    assert parent(birth(born="2010", mother=None), "father").endswith("|?")
    # a birth's day key within the district; a death's stays province-wide
    [day] = [k for k in keys(birth()) if k.startswith("birth|e|2010-02-27|")]
    assert day == "birth|e|2010-02-27|t|703"
    death = RECORD_ADAPTER.validate_python(example_record(RecordType.DEATH))
    death_keys = keys(death)
    assert any(k.count("|") == 3 and k.startswith("death|e|") for k in death_keys)
    # a death's name key carries the year of death
    [name] = [k for k in death_keys if k.startswith("death|n|")]
    assert name.rsplit("|", 1)[1] == str(death.details.date_of_death)[:4]  # type: ignore[union-attr]


def test_blocking_keys_are_rebuilt_from_a_stored_profile() -> None:
    # What MongoDedupStore.rekey relies on: a stored profile holds all its keys come from.
    from hotich_dedup.domain.profile import MatchProfile, build_profile, rekeyed
    from hotich_local.synth.events import dedup_inputs

    seen = 0
    for truth, record in dedup_inputs(3000, 11):
        profile = build_profile(
            record, record_id=truth["id"], version=1, unit_code=truth["entering_unit_code"]
        )
        if profile is None:
            continue
        stored = MatchProfile.from_doc(profile.to_doc())
        stale = MatchProfile.from_doc({**profile.to_doc(), "blocking_keys": ["old|scheme"]})
        assert rekeyed(stored) == profile
        assert rekeyed(stale) == profile
        seen += 1
    assert seen > 2000


def _death_profile(born: str, died: str, residence: str, entry: str) -> MatchProfile:
    details = copy.deepcopy(example_details(RecordType.DEATH))
    details["deceased"]["full_name"] = "Nguyễn Văn Minh"
    details["deceased"]["date_of_birth"] = born
    details["deceased"]["place_of_residence"] = residence
    details["date_of_death"] = died
    record = RECORD_ADAPTER.validate_python(
        example_record(RecordType.DEATH, details=details, entry_number=entry)
    )
    profile = build_profile(record, record_id=f"r{entry}", version=1, unit_code="25459")
    assert profile is not None
    return profile


def test_a_partial_date_that_merely_agrees_with_a_full_one_counts_half() -> None:
    # Two Nguyễn Văn Minh born 1918 who died in February 1994 (found at full scale:
    # namesakes in two communes). Name 8 + sex 0.5 + birth year 2 + month of death 4 =
    # 14.5 when both registers give the same precision; when one gives the day where the
    # other gives only the year (or month), each agreement counts half: 8 + 0.5 + 1 + 2.
    elsewhere = "ấp Hòa Bình, xã Đồng Khởi, huyện Châu Thành, tỉnh Tây Ninh"
    old = _death_profile("1918", "1994-02", elsewhere, "1")
    same_precision = _death_profile("1918", "1994-02", "khu phố 1, phường 3", "2")
    full = _death_profile("1918-03-22", "1994-02-07", "khu phố 1, phường 3", "3")
    assert compare(old, same_precision).points == 14.5
    assert compare(old, same_precision).is_match
    assert compare(old, full).points == 11.5
    assert not compare(old, full).is_match
    assert compare(full, old).points == 11.5  # either order


def test_residences_agree_only_in_the_same_hamlet_or_street() -> None:
    # The commune, district and province words two addresses share made a token set
    # ratio of 90+ for two hamlets of one commune; the hamlet must agree too.
    hamlet = "ấp Xóm Mới, xã Tân Hưng, huyện Tân Châu, tỉnh Tây Ninh"
    base = _death_profile("1918", "1994-02", hamlet, "1")
    other_hamlet = _death_profile(
        "1918", "1994-02", "ấp Cây Xoài, xã Tân Hưng, huyện Tân Châu, tỉnh Tây Ninh", "2"
    )
    abbreviated = _death_profile("1918", "1994-02", "Ấp Xóm Mới, xã Tân Hưng", "3")
    residence = "details.deceased.place_of_residence"
    assert residence not in compare(base, other_hamlet).matched_fields
    assert residence in compare(base, abbreviated).matched_fields
    assert compare(base, abbreviated).points - compare(base, other_hamlet).points == 2.0


async def test_a_record_matching_two_accepted_copies_names_them_linked() -> None:
    # Two noisy copies arrive before the entry they copy: too far apart to match each
    # other, both are accepted. The entry matches both; its suspicion names the pair.
    first, second, entry = copies_too_far_apart()
    store = InMemoryDedupStore()
    out = await run(store, first, second, entry)
    assert statuses(out) == [ACCEPTED, ACCEPTED, SUSPECTED]
    assert {c.record_id for c in out[2].payload.candidates} == {first.record_id, second.record_id}
    [kept] = await store.list_suspects(units=None, state=None, limit=10, after=None)
    assert kept.linked == (pair(first, second),)


async def test_candidates_held_as_duplicates_of_each_other_are_not_named_linked() -> None:
    # Three copies alike: the third matches both others, which were compared (they
    # share blocking keys) and the second was held: nothing to name.
    store = InMemoryDedupStore()
    alike = [birth_at("25462", book_number=f"0{n}/2011") for n in (4, 5, 6)]
    out = await run(store, *alike)
    assert len(out[2].payload.candidates) == 2
    suspects = await store.list_suspects(units=None, state=None, limit=10, after=None)
    assert {d.record_id: d.linked for d in suspects} == {
        alike[1].record_id: (),
        alike[2].record_id: (),
    }


def test_a_matching_pair_that_shares_no_blocking_key_is_named_linked() -> None:
    # Alike, but never compared (no key in common): nothing held either as the other's
    # duplicate, so the record matching both names them.
    first, second, third = (
        profile_of(birth_at("25462", book_number=f"0{n}/2011")) for n in (4, 5, 6)
    )
    matches = find_matches(third, [first, second])
    assert len(matches) == 2
    profiles = {p.record_id: [p] for p in (first, second)}
    ids = [m.record_id for m in matches]
    assert linked_pairs(ids, profiles) == ()
    apart = dataclasses.replace(second, blocking_keys=("elsewhere",))
    assert linked_pairs(ids, {**profiles, second.record_id: [apart]}) == (
        tuple(sorted((first.record_id, second.record_id))),
    )


async def linked_list(
    store: InMemoryDedupStore, state: ReviewState | None = None
) -> list[Decision]:
    """What ``GET /v1/duplicates?linked=true`` lists (all states by default)."""
    return list(
        await store.list_suspects(units=None, state=state, limit=10, after=None, linked=True)
    )


async def test_a_re_keying_matching_a_record_its_original_does_not_names_the_pair() -> None:
    # The entry keyed again with one more slip arrives first: too far from the original
    # death, both are accepted. The first keying then arrives, rejected as the exact
    # duplicate of the second; it matches the original: the rejection names the pair.
    original, copy, again = keyed_twice_with_another_slip()
    store = InMemoryDedupStore()
    out = await run(store, again, original, copy)
    assert statuses(out) == [ACCEPTED, ACCEPTED, REJECTED]
    rejected = out[2].payload
    assert [r.related_record_id for r in rejected.reasons] == [again.record_id]
    assert rejected.candidates == []  # the event is as before: the pair is for reviewers
    [listed] = await linked_list(store, ReviewState.OPEN)
    assert (listed.record_id, listed.linked) == (copy.record_id, (pair(again, original),))
    # the record it keys again first (its unit is the review's too), then its match
    assert [m.record_id for m in listed.candidates] == [again.record_id, original.record_id]
    # Not a suspect to resolve: absent from the suspects' list, and from resolved ones.
    assert await store.list_suspects(units=None, state=None, limit=10, after=None) == []
    assert await linked_list(store, ReviewState.RESOLVED) == []


async def test_re_keyings_in_the_usual_order_name_nothing() -> None:
    # The original, its copy (held), then the copy keyed again: rejected as the copy's
    # exact duplicate, and it does not match the original: no pair.
    original, copy, again = keyed_twice_with_another_slip()
    store = InMemoryDedupStore()
    assert statuses(await run(store, original, copy, again)) == [ACCEPTED, SUSPECTED, REJECTED]
    assert await linked_list(store) == []


async def test_a_re_keying_whose_original_matches_the_same_record_names_nothing() -> None:
    # The copy was held against the original (compared, matching): its re-keying
    # matches the original too, nothing new to name.
    original, copy, _ = keyed_twice_with_another_slip()
    same_again = death_at("25582", "Nguyễn Ngọc Nhhân", book_number="1/1980", entry_number="3")
    store = InMemoryDedupStore()
    assert statuses(await run(store, original, copy, same_again))[2] == REJECTED
    assert await linked_list(store) == []


async def test_a_copy_matching_only_the_entrys_other_keying_is_held_against_the_record() -> None:
    # The entry keyed again (with a slip) arrives first and is the record; the entry's
    # own keying, rejected as its exact duplicate, is kept beside it; the copy matches
    # that keying, not the record's: held, against the record.
    entry, again, copy = keyed_again_before_its_copy()
    out = await one_by_one(InMemoryDedupStore(), again, entry, copy)
    assert statuses(out) == [ACCEPTED, REJECTED, SUSPECTED]
    [candidate] = out[2].payload.candidates
    assert candidate.record_id == again.record_id
    assert candidate.score > 0.5
    assert "details.deceased.full_name" in candidate.matched_fields
    # In one wave, in the same order: the same.
    assert statuses(await run(InMemoryDedupStore(), again, entry, copy)) == statuses(out)


async def test_another_keying_counts_only_for_records_after_it_in_a_wave() -> None:
    # The copy before the entry's own keying, in one wave: it matched nothing then, and
    # is accepted beside the record; the entry's keying, rejected, names the pair.
    entry, again, copy = keyed_again_before_its_copy()
    store = InMemoryDedupStore()
    assert statuses(await run(store, again, copy, entry)) == [ACCEPTED, ACCEPTED, REJECTED]
    [listed] = await linked_list(store)
    assert (listed.record_id, listed.linked) == (entry.record_id, (pair(again, copy),))

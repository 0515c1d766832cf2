"""Ordering per record: what to do with a version given the record's other deliveries."""

from __future__ import annotations

from datetime import UTC, datetime

from hotich_export.domain.delivery import (
    Create,
    Delivery,
    DeliveryState,
    Supersede,
    Update,
    Wait,
    next_step,
    pending_successors,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def d(version: int, state: DeliveryState, national_id: str | None = None) -> Delivery:
    return Delivery(
        key=f"r:v{version}",
        record_id="r",
        version=version,
        unit_code="25459",
        state=state,
        national_id=national_id,
        due_at=T0 if state is DeliveryState.PENDING else None,
    )


def test_first_version_is_created() -> None:
    assert next_step([], 1) == Create()


def test_a_later_version_updates_the_national_record_of_the_older() -> None:
    history = [d(1, DeliveryState.EXPORTED, "N1"), d(2, DeliveryState.EXPORTED, "N1")]
    assert next_step(history, 3) == Update("N1")


def test_a_version_waits_for_an_older_pending_one() -> None:
    assert next_step([d(1, DeliveryState.PENDING)], 2) == Wait(T0)


def test_an_older_failed_version_does_not_block_and_nothing_is_held_so_create() -> None:
    assert next_step([d(1, DeliveryState.FAILED)], 2) == Create()


def test_a_late_older_version_is_superseded_by_an_exported_newer_one() -> None:
    assert next_step([d(2, DeliveryState.EXPORTED, "N1")], 1) == Supersede(2)


def test_a_redriven_exported_version_is_resent_not_superseded() -> None:
    history = [d(1, DeliveryState.PENDING, "N1"), d(2, DeliveryState.EXPORTED, "N1")]
    assert next_step(history, 1, resend=True) == Create()
    assert next_step(history, 2, resend=True) == Wait(T0)


def test_the_version_itself_is_ignored_in_its_history() -> None:
    assert next_step([d(1, DeliveryState.PENDING)], 1) == Create()


def test_pending_successors() -> None:
    history = [
        d(1, DeliveryState.EXPORTED, "N"),
        d(2, DeliveryState.PENDING),
        d(3, DeliveryState.PENDING),
    ]
    assert [x.version for x in pending_successors(history, 1)] == [2, 3]
    assert pending_successors(history, 3) == []

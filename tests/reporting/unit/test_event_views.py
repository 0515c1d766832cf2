"""Reporting's slim read models say what the full contract models say."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hotich_contracts import topics
from hotich_contracts.events import EVENT_MODELS
from hotich_reporting.adapters.event_views import decode
from tests.reporting import scenario as sc


def test_views_agree_with_the_contract_models() -> None:
    scenario = sc.build(sc.config(total=300, seed=3))
    for topic, event in scenario.all_events():
        raw = event.model_dump_json().encode()
        view = decode(topic, raw)
        full = EVENT_MODELS[topic].model_validate_json(raw)
        assert view.event_id == str(full.event_id)
        assert view.record_id == full.record_id  # type: ignore[attr-defined]
        assert view.version == full.record_version  # type: ignore[attr-defined]
        payload = full.payload  # type: ignore[attr-defined]
        assert view.status == (
            str(payload.status) if topic != topics.RECORD_ENTERED else "received"
        )
        assert view.reasons == tuple(r.code.value for r in getattr(payload, "reasons", []))
        record = getattr(payload, "record", None)
        if record is not None:
            assert view.facts is not None
            assert view.facts.record_type == record.record_type.value


def test_other_versions_and_garbage_are_refused() -> None:
    scenario = sc.build(sc.config(total=50, seed=3))
    event = scenario.events[topics.RECORD_VALIDATED][0]
    raw = event.model_dump_json().replace('"schema_version":1', '"schema_version":2').encode()
    with pytest.raises(ValidationError):
        decode(topics.RECORD_VALIDATED, raw)
    with pytest.raises(ValidationError):
        decode(topics.RECORD_VALIDATED, b"not json")
    with pytest.raises(ValidationError):
        decode(topics.RECORD_EXPORTED, event.model_dump_json().encode())

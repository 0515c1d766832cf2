"""The validator agrees with the synthetic generator's ground truth, record by record."""

from __future__ import annotations

from collections import Counter

from hotich_contracts.plan import load_plan
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.units import default_registry
from hotich_local.synth import GenerationConfig, generate
from hotich_local.synth.events import entered_event
from hotich_validation.service_layer.handlers import Validator


def test_outcomes_match_the_ground_truth() -> None:
    validator = Validator(plan=load_plan(), registry=default_registry())
    seen = Counter[str]()
    for item in generate(GenerationConfig(seed=11, total=8_000, province_level=150)):
        truth = item["truth"]
        if truth["malformed"]:
            continue  # refused at intake (422), never validated
        event = entered_event(item, actor="clerk")
        outcome = validator.validate(event).payload
        # Exact duplicates are dedup's business: validation sees the original's outcome.
        expected = [c for c in truth["reasons"] if c != ReasonCode.DUPLICATE_EXACT]
        assert [r.code for r in outcome.reasons] == expected, truth
        assert outcome.phase == truth["phase"], truth
        assert outcome.not_enterable == (ReasonCode.NOT_ENTERABLE in expected), truth
        warnings = {w.code for w in outcome.warnings}
        assert warnings <= {ReasonCode.LATE_ENTRY, ReasonCode.UNREADABLE_FIELD}, outcome.warnings
        if "damaged_readable" in truth["noise"]:
            assert ReasonCode.UNREADABLE_FIELD in warnings, truth
        seen[outcome.status] += 1
        seen.update(truth["noise"])
    assert seen["valid"] > 5_000
    assert seen["rejected"] > 300
    assert seen["not_enterable"] > 10
    assert seen["damaged_readable"] > 5
    assert seen["partial_date"] > 100

"""How reporting's domain objects are stored as documents (shared by the store adapters)."""

from __future__ import annotations

from typing import Any

from hotich_reporting.domain.acceptance import Lot, Round
from hotich_reporting.domain.iso2859 import SamplingPlan
from hotich_reporting.domain.lifecycle import RecordFacts, RecordState
from hotich_reporting.domain.survey import SurveyBook

__all__ = [
    "book_from_doc",
    "book_to_doc",
    "lot_from_doc",
    "lot_to_doc",
    "state_from_doc",
    "state_to_doc",
]


def state_to_doc(state: RecordState) -> dict[str, Any]:
    """A record's state as a compact document (``_id`` = record id)."""
    facts = state.facts
    return {
        "_id": state.record_id,
        "u": state.unit_code,
        "v": state.version,
        "s": state.status,
        "sk": list(state.status_key),
        "p": state.phase,
        "rs": list(state.reasons),
        "l": state.late,
        "ne": state.not_enterable,
        "vk": list(state.validation_key) if state.validation_key is not None else None,
        "f": [facts.record_type, facts.book_key, facts.entry_key] if facts is not None else None,
        "fk": list(state.facts_key) if state.facts_key is not None else None,
    }


def state_from_doc(doc: dict[str, Any]) -> RecordState:
    """The state stored by :func:`state_to_doc`."""
    sk = doc["sk"]
    vk = doc.get("vk")
    f = doc.get("f")
    fk = doc.get("fk")
    return RecordState(
        record_id=doc["_id"],
        unit_code=doc["u"],
        version=doc["v"],
        status=doc["s"],
        status_key=(int(sk[0]), int(sk[1]), str(sk[2]), str(sk[3])),
        phase=doc.get("p"),
        reasons=tuple(doc.get("rs") or ()),
        late=bool(doc.get("l")),
        not_enterable=bool(doc.get("ne")),
        validation_key=(str(vk[0]), str(vk[1])) if vk else None,
        facts=RecordFacts(f[0], f[1], f[2]) if f else None,
        facts_key=(int(fk[0]), int(fk[1]), int(fk[2]), str(fk[3]), str(fk[4])) if fk else None,
    )


def book_to_doc(book: SurveyBook) -> dict[str, Any]:
    """A survey book as a document (``_id`` = book key, ``unit`` = the entering unit)."""
    return {"_id": book.key, "unit": book.book_unit, **book.model_dump(mode="json")}


def book_from_doc(doc: dict[str, Any]) -> SurveyBook:
    """The book stored by :func:`book_to_doc`."""
    data = {k: v for k, v in doc.items() if k not in ("_id", "unit")}
    return SurveyBook.model_validate(data)


def _plan_to_doc(plan: SamplingPlan) -> dict[str, Any]:
    return {
        "lot_size": plan.lot_size,
        "aql": plan.aql,
        "code_letter": plan.code_letter,
        "plan_letter": plan.plan_letter,
        "sample_size": plan.sample_size,
        "acceptance_number": plan.acceptance_number,
        "rejection_number": plan.rejection_number,
        "full_inspection": plan.full_inspection,
    }


def lot_to_doc(lot: Lot) -> dict[str, Any]:
    """A lot with its rounds as one document (``_id`` = lot id, ``rev`` = revision)."""
    return {
        "_id": lot.id,
        "phase": lot.phase,
        "unit_code": lot.unit_code,
        "aql": lot.aql,
        "seed": lot.seed,
        "rev": lot.revision,
        "rounds": [
            {
                "number": r.number,
                "seed": r.seed,
                "plan": _plan_to_doc(r.plan),
                "sample": list(r.sample),
                "drawn_at": r.drawn_at,
                "drawn_by": r.drawn_by,
                # Pairs, not a mapping: record ids are data, never field names.
                "verdicts": sorted([k, v] for k, v in r.verdicts.items()),
                "notes": sorted([k, v] for k, v in r.notes.items()),
                "decided_at": r.decided_at,
            }
            for r in lot.rounds
        ],
    }


def lot_from_doc(doc: dict[str, Any]) -> Lot:
    """The lot stored by :func:`lot_to_doc`."""
    return Lot(
        phase=doc["phase"],
        unit_code=doc["unit_code"],
        aql=doc["aql"],
        seed=doc["seed"],
        revision=int(doc["rev"]),
        rounds=tuple(
            Round(
                number=r["number"],
                seed=r["seed"],
                plan=SamplingPlan(**r["plan"]),
                sample=tuple(r["sample"]),
                drawn_at=r["drawn_at"],
                drawn_by=r["drawn_by"],
                verdicts={k: v for k, v in r.get("verdicts") or ()},
                notes={k: v for k, v in r.get("notes") or ()},
                decided_at=r.get("decided_at"),
            )
            for r in doc["rounds"]
        ),
    )

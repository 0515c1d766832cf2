"""Scored comparison of two match profiles (so khớp có tính điểm).

The score is a sum of evidence points in the manner of Fellegi and Sunter: each field
both records carry adds points when it agrees and takes points away when it disagrees;
a field missing on either side adds nothing. Old registers often give a year where a
newer one gives a day, so dates are compared at the coarser precision of the two
(:meth:`PartialDate.may_equal`) and a coarser agreement is worth fewer points; half as
many again when the precisions differ (:attr:`MatchRules.date_mixed_factor`).

A pair is a probable duplicate when

1. every subject (the child; the deceased; both spouses) present on both sides has a
   name similarity of at least :attr:`MatchRules.subject_name_gate`, and
2. the points reach :attr:`MatchRules.threshold`.

The reported score is ``1 / (1 + exp(-(points - threshold) / 4))``: 0.5 at the
threshold, 0.88 eight points above it, 0.98 sixteen above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz.fuzz import ratio, token_set_ratio
from rapidfuzz.utils import default_process

from hotich_contracts.dates import DatePrecision, PartialDate
from hotich_dedup.domain.names import name_similarity
from hotich_dedup.domain.profile import MatchProfile, PersonKey

__all__ = ["DEFAULT_RULES", "Comparison", "MatchRules", "compare"]


@dataclass(frozen=True)
class MatchRules:
    """Weights and thresholds of the comparison (see the service README's table)."""

    threshold: float = 14.0
    """Points a pair needs to be a probable duplicate."""
    subject_name_gate: float = 0.80
    """Least name similarity of every subject: below it the pair is not compared further."""
    name_points: tuple[tuple[float, float], ...] = ((0.97, 8.0), (0.90, 6.0), (0.80, 3.0))
    """Subject name: (least similarity, points); below the last tier -10."""
    name_disagree: float = -10.0
    related_points: tuple[tuple[float, float], ...] = ((0.97, 5.0), (0.90, 4.0), (0.80, 2.0))
    """Related person's name (parents, adoptive parents): tiers as for subjects."""
    related_disagree: float = -6.0
    date_points: dict[DatePrecision, float] = field(
        default_factory=lambda: {
            DatePrecision.DAY: 7.0,
            DatePrecision.MONTH: 4.0,
            DatePrecision.YEAR: 2.0,
        }
    )
    """A subject's birth date or the event's date agreeing at the coarser precision."""
    date_mixed_factor: float = 0.5
    """Share of those points when the two dates are of different precisions (a year
    against a full date): an entry registered again is written from the same papers, so
    its date is as precise as the first one; one register knowing the day where the other
    knows only the year is itself weak evidence of two events (namesakes)."""
    date_same_year: float = -4.0
    """Same year, different month or day."""
    date_near_year: float = -7.0
    """Years one apart."""
    date_far: float = -10.0
    related_birth_agree: float = 1.0
    """A related person's birth year (often all an old register gives) agreeing."""
    related_birth_near: float = -2.0
    related_birth_far: float = -6.0
    sex_agree: float = 0.5
    sex_disagree: float = -4.0
    identity_agree: float = 10.0
    identity_disagree: float = -8.0
    related_identity_disagree: float = -4.0
    """A related person's identity numbers of the same kind differing (agreeing: half of
    :attr:`identity_agree`)."""
    place_agree: float = 0.5
    residence_agree: float = 2.0
    """A subject's place of residence agreeing (:func:`_same_place`: the hamlet or street
    and the whole address); never negative: people move."""
    max_candidates: int = 5
    """Candidates reported per suspect, best first."""

    def score(self, points: float) -> float:
        """Map points to a score in [0, 1]: 0.5 at the threshold."""
        return 1.0 / (1.0 + math.exp(-(points - self.threshold) / 4.0))


DEFAULT_RULES = MatchRules()


@dataclass(frozen=True, slots=True)
class Comparison:
    """Outcome of comparing two profiles."""

    points: float
    score: float
    is_match: bool
    matched_fields: tuple[str, ...]
    """Dotted record paths of the fields that agreed, e.g. ``details.child.full_name``."""


def _tiers(similarity: float, tiers: Sequence[tuple[float, float]], disagree: float) -> float:
    for least, points in tiers:
        if similarity >= least:
            return points
    return disagree


def _date_points(a: PartialDate, b: PartialDate, rules: MatchRules) -> float:
    if a.may_equal(b):
        coarser = min(a.precision, b.precision, key=_rank)
        if a.precision != b.precision:
            return rules.date_points[coarser] * rules.date_mixed_factor
        return rules.date_points[coarser]
    gap = abs(a.year - b.year)
    if gap == 0:
        return rules.date_same_year
    return rules.date_near_year if gap == 1 else rules.date_far


def _rank(precision: DatePrecision) -> int:
    return (DatePrecision.YEAR, DatePrecision.MONTH, DatePrecision.DAY).index(precision)


def _event_path(record_type: str) -> str:
    return {
        "birth": "details.child.date_of_birth",
        "death": "details.date_of_death",
        "marriage_recording": "details.foreign_registration.issued_on",
        "divorce_recording": "details.effective_date",
    }.get(record_type, "details.event_date")


def compare(a: MatchProfile, b: MatchProfile, rules: MatchRules = DEFAULT_RULES) -> Comparison:
    """Compare two profiles of the same record type."""
    points = 0.0
    matched: list[str] = []
    b_subjects = {p.role: p for p in b.subjects}
    for person in a.subjects:
        other = b_subjects.get(person.role)
        if other is None:
            continue
        path = f"details.{person.role}"
        form, other_form = person.form, other.form
        if form is not None and other_form is not None:
            similarity = name_similarity(form, other_form)
            if similarity < rules.subject_name_gate:
                return Comparison(rules.name_disagree, 0.0, False, ())
            points += _tiers(similarity, rules.name_points, rules.name_disagree)
            matched.append(f"{path}.full_name")
        # A birth's event date is the child's birth date: counted once, below.
        if person.birth is not None and other.birth is not None and a.record_type != "birth":
            gained = _date_points(person.birth, other.birth, rules)
            points += gained
            if gained > 0:
                matched.append(f"{path}.date_of_birth")
        points += _person_extras(person, other, path, rules, matched)
    b_related = {p.role: p for p in b.related}
    parent_compared = False
    for person in a.related:
        other = b_related.get(person.role)
        if other is None:
            continue
        path = f"details.{person.role}"
        form, other_form = person.form, other.form
        if form is not None and other_form is not None:
            parent_compared = True
            gained = _tiers(
                name_similarity(form, other_form), rules.related_points, rules.related_disagree
            )
            points += gained
            if gained > 0:
                matched.append(f"{path}.full_name")
        if person.birth is not None and other.birth is not None:
            gap = abs(person.birth.year - other.birth.year)
            if gap == 0:
                points += rules.related_birth_agree
                matched.append(f"{path}.date_of_birth")
            else:
                points += rules.related_birth_near if gap == 1 else rules.related_birth_far
        if person.identity is not None and other.identity is not None:
            if person.identity == other.identity:
                points += rules.identity_agree / 2
                matched.append(f"{path}.identity_number")
            elif _same_kind(person.identity, other.identity):
                points += rules.related_identity_disagree
    if a.event_date is not None and b.event_date is not None:
        gained = _date_points(a.event_date, b.event_date, rules)
        points += gained
        if gained > 0:
            matched.append(_event_path(a.record_type))
    if a.place_code is not None and a.place_code == b.place_code:
        points += rules.place_agree
        matched.append("details.place_of_birth_unit_code")
    # Two births with no parent named on both sides share only what namesakes born the
    # same day share (the child's name, sex, birth date, place): not told apart.
    told_apart = a.record_type != "birth" or parent_compared
    return Comparison(
        points=points,
        score=rules.score(points),
        is_match=told_apart and points >= rules.threshold,
        matched_fields=tuple(matched),
    )


def _person_extras(
    person: PersonKey, other: PersonKey, path: str, rules: MatchRules, matched: list[str]
) -> float:
    points = 0.0
    if (
        person.residence is not None
        and other.residence is not None
        and _same_place(person.residence, other.residence)
    ):
        points += rules.residence_agree
        matched.append(f"{path}.place_of_residence")
    if (
        person.sex is not None
        and other.sex is not None
        and "undetermined"
        not in (
            person.sex,
            other.sex,
        )
    ):
        if person.sex == other.sex:
            points += rules.sex_agree
            matched.append(f"{path}.sex")
        else:
            points += rules.sex_disagree
    if person.identity is not None and other.identity is not None:
        if person.identity == other.identity:
            points += rules.identity_agree
            matched.append(f"{path}.identity_number")
        elif _same_kind(person.identity, other.identity):
            points += rules.identity_disagree
    return points


def _same_place(residence: str, other: str) -> bool:
    """Whether two folded residences name the same place.

    The whole addresses must agree (token set ratio >= 90, punctuation aside, so that one
    written in full and one that stops at the commune still do), and so must their first
    parts, the hamlet or street (ấp, khu phố, số nhà): the commune, district and province
    words two addresses share would otherwise outweigh two hamlets of one commune.
    """
    # The hamlets first: two short strings, and where most pairs already differ.
    first, other_first = residence.split(",", 1)[0], other.split(",", 1)[0]
    if ratio(first, other_first, processor=default_process) < 85:
        return False
    return token_set_ratio(residence, other, processor=default_process) >= 90


def _same_kind(identity: str, other: str) -> bool:
    """Whether two identity keys (``kind:number``) are numbers of the same document kind."""
    return identity.split(":", 1)[0] == other.split(":", 1)[0]

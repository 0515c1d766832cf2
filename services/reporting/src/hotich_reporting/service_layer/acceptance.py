"""Acceptance (nghiệm thu) use cases: open a lot, record verdicts, sample again after rework."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hotich_contracts.units import UnitRegistry
from hotich_reporting.domain import acceptance as rules
from hotich_reporting.domain.acceptance import Lot, LotError, Verdict
from hotich_reporting.domain.lifecycle import timestamp
from hotich_reporting.service_layer.ports import AcceptanceStore, ProjectionStore
from hotich_reporting.service_layer.queries import OutOfScope, allowed_scope
from hotich_runtime.auth import Principal, Role

__all__ = ["Acceptance", "LotNotFound"]

_INSPECTORS = (Role.DEPARTMENT_OFFICER, Role.ADMIN)


class LotNotFound(KeyError):
    """No lot with that id."""


@dataclass
class Acceptance:
    """The Department's working group at work: lots, samples, verdicts."""

    lots: AcceptanceStore
    projection: ProjectionStore
    registry: UnitRegistry
    now: Callable[[], datetime]

    def _inspector(self, principal: Principal) -> None:
        if principal.role not in _INSPECTORS:
            raise OutOfScope("only the Department's working group runs acceptance")

    async def get(self, principal: Principal, lot_id: str) -> Lot:
        """A lot the caller may see.

        Raises:
            LotNotFound: no such lot.
            OutOfScope: the lot's unit is outside the caller's scope.
        """
        lot = await self.lots.get(lot_id)
        if lot is None:
            raise LotNotFound(lot_id)
        allowed = allowed_scope(principal)
        if allowed is not None and not self.registry.is_within(lot.unit_code, allowed):
            raise OutOfScope(lot.unit_code)
        return lot

    async def open_lot(
        self, principal: Principal, phase: str, unit_code: str, *, aql: str, seed: str | None
    ) -> Lot:
        """Open the lot of a unit and phase and draw its first sample.

        Raises:
            OutOfScope: the caller is not an inspector.
            LotError: the lot exists already, or has no accepted records.
            ValueError: an AQL not in ISO 2859-1 Table 2-A.
        """
        self._inspector(principal)
        if unit_code not in self.registry:
            raise LotError(f"unknown unit {unit_code}")
        existing = await self.lots.get(rules.lot_id(phase, unit_code))
        if existing is not None:
            raise LotError(f"lot {existing.id} exists (status {existing.status})")
        members = await self.projection.members(phase, unit_code)
        lot = rules.new_lot(
            phase,
            unit_code,
            members,
            aql=aql,
            seed=seed,
            at=timestamp(self.now()),
            by=principal.username,
        )
        await self.lots.put(lot, None)
        return await self._stored(lot.id)

    async def record(
        self, principal: Principal, lot_id: str, record_id: str, verdict: Verdict, note: str
    ) -> Lot:
        """Record a verdict on a sampled record.

        Raises:
            OutOfScope: the caller is not an inspector.
            LotNotFound: no such lot.
            LotError: not in the open round's sample.
            ConflictError: the lot changed meanwhile (try again).
        """
        self._inspector(principal)
        lot = await self.get(principal, lot_id)
        updated = rules.record_verdict(lot, record_id, verdict, note=note, at=timestamp(self.now()))
        await self.lots.put(updated, lot.revision)
        return await self._stored(lot_id)

    async def resample(self, principal: Principal, lot_id: str) -> Lot:
        """Sample a failed lot again, as its records are after rework.

        Raises:
            OutOfScope: the caller is not an inspector.
            LotNotFound: no such lot.
            LotError: the lot did not fail, or has no accepted records.
            ConflictError: the lot changed meanwhile.
        """
        self._inspector(principal)
        lot = await self.get(principal, lot_id)
        members = await self.projection.members(lot.phase, lot.unit_code)
        updated = rules.resample(lot, members, at=timestamp(self.now()), by=principal.username)
        await self.lots.put(updated, lot.revision)
        return await self._stored(lot_id)

    async def _stored(self, lot_id: str) -> Lot:
        lot = await self.lots.get(lot_id)
        if lot is None:  # pragma: no cover - just written
            raise LotNotFound(lot_id)
        return lot

"""Operator use cases: redrive failed or chosen records, and reconcile the ledger.

Both work on export's own store (and, for reconciliation, read the national database);
the running export instances do the redriven deliveries through their scheduled-retry
path, so a redrive is as safe as any retry: same idempotency key, same ordering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hotich_contracts.envelope import utcnow
from hotich_export.domain.delivery import Delivery
from hotich_export.service_layer.ports import DeliveryStore, NationalDatabase

SAMPLE = 50
"""Keys listed per discrepancy kind in a report (the counts are always complete)."""


@dataclass(frozen=True)
class Redriven:
    """What a redrive changed."""

    deliveries: list[Delivery]
    unknown_records: list[str]
    """Record ids asked for that export has never seen."""


async def redrive(
    store: DeliveryStore,
    *,
    record_ids: Sequence[str] = (),
    failed: bool = False,
    now: datetime | None = None,
) -> Redriven:
    """Make failed records (``failed``) and/or the given records due for export again.

    Raises:
        ValueError: neither records nor ``failed`` were asked for.
    """
    if not record_ids and not failed:
        raise ValueError("name records to redrive, or ask for the failed ones")
    deliveries = await store.redrive(
        record_ids=list(record_ids) or None, failed=failed, now=now or utcnow()
    )
    seen = {d.record_id for d in deliveries}
    return Redriven(deliveries, [r for r in record_ids if r not in seen])


@dataclass
class Mismatch:
    """A version both sides hold, under different national ids."""

    key: str
    ledger_national_id: str
    national_id: str


@dataclass
class UnitReconciliation:
    """One unit's comparison."""

    unit_code: str
    ledger_versions: int = 0
    national_versions: int = 0
    ledger_records: int = 0
    national_records: int = 0
    missing: list[str] = field(default_factory=list)
    """Keys the ledger has exported that the national database does not hold."""
    extra: dict[str, str] = field(default_factory=dict)
    """Keys the national database holds that the ledger has not recorded as exported, with
    export's state for them (``pending`` / ``failed`` / ``unknown``)."""
    mismatched: list[Mismatch] = field(default_factory=list)


@dataclass
class Reconciliation:
    """The ledger compared with the national database, unit by unit."""

    units: list[UnitReconciliation]

    @property
    def clean(self) -> bool:
        """True when nothing is missing, extra or mismatched."""
        return not any(u.missing or u.extra or u.mismatched for u in self.units)

    def totals(self) -> dict[str, int]:
        """Sums over the units."""
        return {
            "ledger_versions": sum(u.ledger_versions for u in self.units),
            "national_versions": sum(u.national_versions for u in self.units),
            "ledger_records": sum(u.ledger_records for u in self.units),
            "national_records": sum(u.national_records for u in self.units),
            "missing": sum(len(u.missing) for u in self.units),
            "extra": sum(len(u.extra) for u in self.units),
            "mismatched": sum(len(u.mismatched) for u in self.units),
        }

    def as_dict(self, sample: int = SAMPLE) -> dict[str, object]:
        """JSON-able report: totals, then each unit with discrepancies (keys sampled)."""
        return {
            "clean": self.clean,
            "totals": self.totals(),
            "units": [
                {
                    "unit_code": u.unit_code,
                    "ledger_versions": u.ledger_versions,
                    "national_versions": u.national_versions,
                    "ledger_records": u.ledger_records,
                    "national_records": u.national_records,
                    "missing": u.missing[:sample],
                    "extra": dict(list(u.extra.items())[:sample]),
                    "mismatched": [m.__dict__ for m in u.mismatched[:sample]],
                }
                for u in self.units
                if u.missing or u.extra or u.mismatched
            ],
        }


async def reconcile(
    store: DeliveryStore, national: NationalDatabase, units: Sequence[str] = ()
) -> Reconciliation:
    """Compare the ledger with what the national database holds, one unit at a time.

    Per unit: the counts of versions and records on both sides, and the keys missing
    from the national database, held there but not in the ledger, or held under another
    national id. Memory holds one unit at a time.
    """
    report = Reconciliation([])
    for unit in units or await store.units():
        result = UnitReconciliation(unit)
        ledger: dict[str, str] = {}
        ledger_records: set[str] = set()
        async for receipt in store.receipts(unit):
            assert receipt.national_id is not None
            ledger[receipt.key] = receipt.national_id
            ledger_records.add(receipt.national_id)
        held: dict[str, str] = {}
        national_records = 0
        async for holding in national.holdings(unit):
            national_records += 1
            for key in holding.keys:
                held[key] = holding.national_id
        result.ledger_versions, result.national_versions = len(ledger), len(held)
        result.ledger_records, result.national_records = len(ledger_records), national_records
        result.missing = sorted(k for k in ledger if k not in held)
        result.mismatched = [
            Mismatch(k, ledger[k], held[k])
            for k in sorted(ledger)
            if k in held and held[k] != ledger[k]
        ]
        unrecorded = sorted(k for k in held if k not in ledger)
        states = await store.undelivered_keys(unrecorded)
        result.extra = {k: states.get(k, "unknown") for k in unrecorded}
        report.units.append(result)
    return report

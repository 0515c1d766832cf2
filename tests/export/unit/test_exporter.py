from typing import Any

from hotich_contracts import topics
from hotich_contracts.events import RecordStatus
from hotich_contracts.reasons import ReasonCode
from hotich_export.adapters.national_http import TransientNationalError
from hotich_export.service_layer.handlers import Exporter, idempotency_key
from hotich_export.service_layer.ports import NationalRejected, Receipt
from hotich_runtime.ports import FakePublisher
from tests.factories import deduplicated


class FakeNational:
    def __init__(self, failures: int = 0, reject: bool = False) -> None:
        self.held: dict[str, str] = {}
        self.calls = 0
        self.failures = failures
        self.reject = reject

    async def create(
        self,
        *,
        idempotency_key: str,
        unit_code: str,
        record_id: str,
        version: int,
        record: dict[str, Any],
    ) -> tuple[str, int]:
        self.calls += 1
        if self.reject:
            raise NationalRejected("missing fields: book_number")
        if self.failures:
            self.failures -= 1
            raise TransientNationalError("503", retry_after=0.01)
        if idempotency_key in self.held:
            return self.held[idempotency_key], 409
        self.held[idempotency_key] = f"VN-{len(self.held) + 1}"
        return self.held[idempotency_key], 201


class FakeLedger:
    def __init__(self) -> None:
        self.receipts: dict[str, Receipt] = {}

    async def get(self, key: str) -> Receipt | None:
        return self.receipts.get(key)

    async def put(self, receipt: Receipt) -> None:
        self.receipts.setdefault(receipt.idempotency_key, receipt)


async def test_accepted_record_is_exported_once_even_when_redelivered() -> None:
    national, ledger, pub = FakeNational(), FakeLedger(), FakePublisher()
    exporter = Exporter(national=national, ledger=ledger, publisher=pub)
    event = deduplicated()
    await exporter.export_batch([event])
    await exporter.export_batch([event])
    out = pub.events(topics.RECORD_EXPORTED)
    assert national.calls == 1
    assert len(national.held) == 1
    assert out[0].event_id == out[1].event_id
    assert out[0].payload.national_id == "VN-1"
    assert idempotency_key(event.record_id, 1) in ledger.receipts


async def test_transient_errors_are_retried_honouring_retry_after() -> None:
    national, pub = FakeNational(failures=2), FakePublisher()
    exporter = Exporter(national=national, ledger=FakeLedger(), publisher=pub, retry_for_seconds=5)
    [outcome] = await exporter.export_batch([deduplicated()])
    assert outcome.payload.status == RecordStatus.EXPORTED
    assert outcome.payload.attempts == 3


async def test_national_rejection_ends_as_export_failed_with_reason() -> None:
    pub = FakePublisher()
    exporter = Exporter(national=FakeNational(reject=True), ledger=FakeLedger(), publisher=pub)
    [outcome] = await exporter.export_batch([deduplicated()])
    assert outcome.payload.status == RecordStatus.EXPORT_FAILED
    assert outcome.payload.reasons[0].code == ReasonCode.NATIONAL_REJECTED
    assert outcome.payload.national_id is None


async def test_only_accepted_records_are_exported() -> None:
    national, pub = FakeNational(), FakePublisher()
    exporter = Exporter(national=national, ledger=FakeLedger(), publisher=pub)
    await exporter.export_batch([deduplicated(status=RecordStatus.REJECTED)])
    assert national.calls == 0
    assert pub.events(topics.RECORD_EXPORTED) == []

"""Use cases of the export service."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

from hotich_contracts import topics
from hotich_contracts.envelope import reaction_to, utcnow
from hotich_contracts.events import (
    RecordDeduplicated,
    RecordExported,
    RecordExportedPayload,
    RecordStatus,
)
from hotich_contracts.reasons import Reason, ReasonCode
from hotich_export.service_layer.ports import (
    NationalDatabase,
    NationalRejected,
    Receipt,
    ReceiptLedger,
)
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import Publisher

STAGE = "exported"


def idempotency_key(record_id: str, version: int) -> str:
    """Return the key the national database deduplicates on: one per record version."""
    return f"{record_id}:v{version}"


_backoff = wait_exponential_jitter(multiplier=0.2, max=20.0)


def _wait(state: RetryCallState) -> float:
    """Honour the server's Retry-After when it gave one, else back off exponentially."""
    exc = state.outcome.exception() if state.outcome else None
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        return float(retry_after)
    return _backoff(state)


@dataclass
class Exporter:
    """Delivers accepted record versions to the national database, exactly once each."""

    national: NationalDatabase
    ledger: ReceiptLedger
    publisher: Publisher
    concurrency: int = 32
    retry_for_seconds: float = 30.0

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)

    async def _deliver(self, event: RecordDeduplicated) -> RecordExported:
        key = idempotency_key(event.record_id, event.record_version)
        attempts = 0
        receipt = await self.ledger.get(key)
        reasons: list[Reason] = []
        if receipt is None:
            try:
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception_type(RetryableError),
                    wait=_wait,
                    stop=stop_after_delay(self.retry_for_seconds),
                    reraise=True,
                ):
                    with attempt:
                        attempts += 1
                        async with self._slots:
                            national_id, status = await self.national.create(
                                idempotency_key=key,
                                unit_code=event.unit_code,
                                record_id=event.record_id,
                                version=event.record_version,
                                record=event.payload.record.model_dump(mode="json"),
                            )
                receipt = Receipt(
                    key, event.record_id, event.record_version, national_id, utcnow(), status
                )
                await self.ledger.put(receipt)
            except NationalRejected as exc:
                reasons = [
                    Reason(
                        code=ReasonCode.NATIONAL_REJECTED,
                        message_vi=f"Cơ sở dữ liệu hộ tịch điện tử toàn quốc từ chối bản ghi: {exc.reason}",
                        message_en=f"The national civil status database refused the record: {exc.reason}",
                    )
                ]
        return RecordExported(
            **reaction_to(event, stage=STAGE, actor="service:export"),
            payload=RecordExportedPayload(
                status=RecordStatus.EXPORTED if receipt else RecordStatus.EXPORT_FAILED,
                phase=event.payload.phase,
                national_id=receipt.national_id if receipt else None,
                attempts=max(attempts, 1),
                reasons=reasons,
            ),
        )

    async def export_batch(self, events: Sequence[RecordDeduplicated]) -> list[RecordExported]:
        """Deliver the accepted records of a batch concurrently, then publish the outcomes.

        A transient failure that outlasts the retry budget propagates, so the batch is not
        committed and is read again; receipts make the second pass skip what was done.
        """
        accepted = [e for e in events if e.payload.status == RecordStatus.ACCEPTED]
        outcomes = list(await asyncio.gather(*(self._deliver(e) for e in accepted)))
        await self.publisher.publish(topics.RECORD_EXPORTED, outcomes)
        return outcomes

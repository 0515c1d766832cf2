"""The store stops answering: intake refuses with 503 and Retry-After, never 500, and
serves again once the store is back."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from hotich_contracts.examples import example_record
from hotich_contracts.records import RecordType
from hotich_local import accounts
from hotich_local.infra import procs
from hotich_local.infra.mongo import SecantusServer
from tests.intake.integration.conftest import sign_in, start_intake

pytestmark = pytest.mark.integration


def _record() -> dict[str, object]:
    return example_record(RecordType.BIRTH, entry_number=uuid.uuid4().hex[:8])


async def test_store_down_means_503_then_service_resumes(
    kafka_bootstrap: str, topics_ready: object, tmp_path: Path
) -> None:
    store = SecantusServer(tmp_path / "store", port=procs.free_port())
    store.start(tmp_path / "store.log")
    await store.wait_ready(60)
    database = f"store_outage_{uuid.uuid4().hex[:8]}"
    await accounts.create(
        store.url, "clerk", "outage-password", "25459", "clerk", database=database
    )
    url, intake_pid = await asyncio.to_thread(
        start_intake, kafka_bootstrap, store.url, database, tmp_path
    )
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await sign_in(client, "clerk", "outage-password")
            before = await client.post("/v1/records", json=_record())
            assert before.status_code == 202, before.text

            store.stop()
            # The token is checked against the account on every request: with the store
            # gone that check, not only the write, must answer 503.
            for request in (
                client.get(f"/v1/records/{before.json()['record_id']}"),
                client.post("/v1/records", json=_record()),
            ):
                answer = await request
                assert answer.status_code == 503, answer.text
                assert answer.headers["Retry-After"] == "5"
                said = " ".join(str(v) for v in answer.json().values())
                assert "Hệ thống tạm thời" in said, said
                assert "retry later" in said, said
            assert procs.is_running(intake_pid)

            store.start(tmp_path / "store.log")  # same data directory and port
            await store.wait_ready(60)
            after: httpx.Response | None = None
            for _ in range(30):
                after = await client.post("/v1/records", json=_record())
                if after.status_code == 202:
                    break
                await asyncio.sleep(1)
            assert after is not None
            assert after.status_code == 202, after.text
            read = await client.get(f"/v1/records/{before.json()['record_id']}")
            assert read.status_code == 200, read.text
    finally:
        procs.stop(intake_pid)
        store.stop()

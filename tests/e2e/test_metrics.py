"""What ops scrape: every service's ``/metrics`` shows what the pipeline did and why.

Records in and out, errors by reason (422 codes at intake, rejection reasons after
validation), consumer lag per partition, and the national database's latency at export.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hotich_contracts.examples import example_record
from hotich_contracts.records import RecordType
from hotich_local import stack
from tests.e2e.support import eventually

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples:
    """Every sample of a service's ``/metrics``, by name and labels."""
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: Samples, metric: str, **labels: str) -> float:
    """Sum of the samples of ``metric`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == metric and wanted <= ls)


async def test_metrics_show_reasons_lag_and_national_latency(
    running_stack: stack.StackState, clerk_token: str
) -> None:
    urls = running_stack.urls
    headers = {"Authorization": f"Bearer {clerk_token}"}
    entry = str(uuid.uuid4().int % 10**6)
    valid = example_record(RecordType.DEATH, entry_number=entry)
    # Somebody no other test enters: the same person twice would be a probable duplicate,
    # held for an officer's review, in this test or in another one sharing the stack.
    valid["details"]["deceased"]["full_name"] = f"Phạm Thị Đo {uuid.uuid4().hex[:10]}"
    valid["details"]["deceased"]["date_of_birth"] = "1944"
    out_of_scope = example_record(RecordType.PARENTAGE_RECOGNITION, entry_number=entry)
    malformed = example_record(RecordType.BIRTH)
    del malformed["book_number"]
    before = {name: await scrape(urls[name]) for name in ("intake", "validation", "export")}

    async with httpx.AsyncClient(base_url=urls["intake"], headers=headers) as intake:
        refused = await intake.post("/v1/records", json=malformed)
        assert refused.status_code == 422
        ids = []
        for body in (valid, out_of_scope):
            response = await intake.post("/v1/records", json=body)
            assert response.status_code == 202, response.text
            ids.append(response.json()["record_id"])

        async def settled() -> bool:
            views = [(await intake.get(f"/v1/records/{i}")).json() for i in ids]
            return [v["status"] for v in views] == ["exported", "rejected"]

        await eventually(settled)

    after = {name: await scrape(urls[name]) for name in ("intake", "validation", "export")}

    def grew(source: str, metric: str, **labels: str) -> float:
        return total(after[source], metric, **labels) - total(before[source], metric, **labels)

    assert grew("intake", "hotich_input_errors_total", service="intake", code="missing") >= 1
    assert grew("intake", "hotich_events_published_total") >= 2
    assert grew("validation", "hotich_events_consumed_total") >= 2
    assert grew("validation", "hotich_reasons_total", reason="out_of_scope_type") >= 1
    lag = [
        dict(labels)
        for (name, labels) in after["validation"]
        if name == "hotich_consumer_lag" and dict(labels)["group"].endswith("validation")
    ]
    assert lag, "validation exposes no consumer lag"
    assert all(total(after["validation"], "hotich_consumer_lag", **ls) >= 0 for ls in lag)
    assert grew("export", "hotich_export_national_seconds_count") >= 1
    assert grew("export", "hotich_export_national_calls_total", result="ok") >= 1

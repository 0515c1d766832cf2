"""Reporting end to end: events of a generated set of registers, published straight to
Kafka (shuffled across topics, a quarter of them twice), read by the service; its
reports against numbers computed from what was posted."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections import Counter

import pytest
from aiokafka import AIOKafkaConsumer
from openpyxl import load_workbook

from hotich_contracts import topics
from hotich_contracts.events import ProgressReported
from hotich_reporting.adapters.kafka_replay import ReplayStats, replay
from hotich_reporting.adapters.mongo_projection import MongoProjection
from hotich_reporting.domain.books import book_key
from hotich_reporting.service_layer.rebuild import compare, rebuild
from hotich_runtime import mongo
from hotich_runtime.auth import Role
from tests.fixtures.infra import unique_database_name
from tests.reporting import scenario as sc
from tests.reporting.integration.conftest import TOPIC_PREFIX, Service

pytestmark = pytest.mark.integration

PHASES = ["1", "2", "3", "migration", "none", "pending", "all"]


@pytest.mark.parametrize("phase", PHASES)
async def test_report_numbers_equal_ground_truth(reporting_service: Service, phase: str) -> None:
    expected = sc.expected_units(reporting_service.scenario, phase)
    async with reporting_service.client() as client:
        report = (
            await client.get("/v1/reports/progress", params={"phase": phase, "unit_code": "705"})
        ).json()
    assert sc.report_row(report["totals"]) == sc.as_report_row(expected["705"])
    communes = [row for row in report["children"] if not row["own"]]
    assert len(communes) == 10
    for row in communes:
        assert sc.report_row(row) == sc.as_report_row(expected.get(row["code"], Counter())), row[
            "code"
        ]
    own = next((row for row in report["children"] if row["own"]), None)
    if own is not None:
        office = Counter()
        for (bucket, unit, _), counts in sc.expected_cells(
            reporting_service.scenario.finals.values()
        ).items():
            if unit == "705" and phase in ("all", bucket):
                office.update(counts)
        assert own["entered"] == office["entered"]
        assert own["accepted"] == office["accepted"]


async def test_books_and_gaps_match_the_registers(reporting_service: Service) -> None:
    scenario = reporting_service.scenario
    accounted = sc.accounted_numbers(scenario)
    async with reporting_service.client() as client:
        for row in scenario.survey[::25]:
            key = book_key(sc.book_unit(row), row.record_type, row.book_number)
            gaps = (await client.get(f"/v1/reports/books/{key}/gaps")).json()
            expected = [
                n
                for n in range(row.first_entry, row.first_entry + row.entries)
                if n not in accounted.get(row.book_id, set())
            ]
            assert [n for a, b in gaps["missing"] for n in range(a, b + 1)] == expected, key
        unit = scenario.survey[0].unit_code
        books = (await client.get(f"/v1/reports/units/{unit}/books")).json()["books"]
    assert sum(b["expected"] or 0 for b in books) == sum(
        r.entries for r in scenario.survey if sc.book_unit(r) == unit
    )


async def test_rebuild_from_the_topics_matches_the_live_projection(
    reporting_service: Service,
) -> None:
    client = mongo.make_client(reporting_service.mongodb_url, app_name="test-rebuild")
    target_name = unique_database_name("reporting_rebuild")
    try:
        live = MongoProjection(client, client[reporting_service.settings.mongodb_database])
        target = MongoProjection(client, client[target_name])
        stats = ReplayStats()
        result = await rebuild(
            replay(reporting_service.bootstrap, stats, prefix=TOPIC_PREFIX), target
        )
        assert stats.undecodable == 0
        assert result.records == len(reporting_service.scenario.finals)
        assert await compare(live, target) == []
    finally:
        await client.drop_database(target_name)
        client.close()


async def test_progress_snapshots_reach_an_outside_consumer(reporting_service: Service) -> None:
    expected = sc.expected_units(reporting_service.scenario, "2")["705"]
    wanted = {
        "entered": expected["entered"],
        "valid": expected["valid"],
        "rejected": expected["rejected"],
        "accepted": expected["accepted"],
        "duplicate_suspected": expected["duplicate_suspected"],
        "exported": expected["exported"],
        "export_failed": expected["export_failed"],
        "surveyed": expected["surveyed"],
        "received": expected["pending"],
        "not_enterable": expected["not_enterable"],
        "duplicate_confirmed": expected["duplicate_confirmed"],
        "late": expected["late"],
        "rejected_by_reason": {
            k[2:]: v for k, v in sorted(expected.items()) if k.startswith("r_") and v
        },
    }
    consumer = AIOKafkaConsumer(
        TOPIC_PREFIX + topics.REPORT_PROGRESS,
        bootstrap_servers=reporting_service.bootstrap,
        group_id=f"outside-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen = []
    try:
        # The latest snapshot of the key must come to equal the ground truth (the
        # service publishes every half second while counts change).
        async with asyncio.timeout(60):
            async for message in consumer:
                if message.key != b"2:705":
                    continue
                snapshot = ProgressReported.model_validate_json(message.value)
                seen.append(snapshot)
                if snapshot.payload.counts.model_dump() == wanted:
                    break
    finally:
        await consumer.stop()
    assert snapshot.payload.phase == "2"
    assert snapshot.payload.unit_code == "705"
    assert snapshot.event_type == "report.progress"
    assert len({s.event_id for s in seen}) == len(seen)  # a snapshot is published once


async def test_each_role_sees_its_scope(reporting_service: Service) -> None:
    async with reporting_service.client("25489", Role.CLERK) as clerk:
        own = await clerk.get("/v1/reports/progress", params={"phase": "all"})
        assert own.json()["unit"]["code"] == "25489"
        assert (
            await clerk.get("/v1/reports/progress", params={"unit_code": "705"})
        ).status_code == 403
        assert (await clerk.get("/v1/reports/units/25486/books")).status_code == 403
        assert (
            await clerk.get("/v1/reports/province.xlsx", params={"phase": "1"})
        ).status_code == 403
    async with reporting_service.client("705", Role.DISTRICT_OFFICER) as district:
        report = (await district.get("/v1/reports/progress", params={"phase": "all"})).json()
        assert {row["code"] for row in report["children"] if not row["own"]} == {
            "25486", "25489", "25492", "25495", "25498", "25501", "25504", "25507", "25510", "25513"
        }  # fmt: skip
        assert (
            await district.get("/v1/reports/progress", params={"unit_code": "703"})
        ).status_code == 403
    async with reporting_service.client() as department:
        report = (await department.get("/v1/reports/progress", params={"phase": "all"})).json()
        assert report["unit"]["code"] == "72"
        assert any(row["code"] == "705" for row in report["children"])
        bad = await department.get("/v1/reports/progress", params={"phase": "4"})
        assert bad.status_code == 422
    async with reporting_service.client() as anonymous:
        anonymous.headers.pop("Authorization")
        assert (await anonymous.get("/v1/reports/progress")).status_code == 401


async def test_acceptance_by_sampling_and_payment(reporting_service: Service) -> None:
    async with reporting_service.client() as department:
        plan = (
            await department.get("/v1/acceptance/plan", params={"lot_size": 1000, "aql": "2.5"})
        ).json()
        assert (plan["sample_size"], plan["acceptance_number"], plan["rejection_number"]) == (
            80,
            5,
            6,
        )
        created = await department.post(
            "/v1/acceptance/lots",
            json={"phase": "2", "unit_code": "25489", "aql": "1.0", "seed": "tn-2021"},
        )
        assert created.status_code == 201, created.text
        lot = created.json()
        first = lot["rounds"][0]
        accepted = sc.expected_units(reporting_service.scenario, "2")["25489"]["accepted"]
        assert first["lot_size"] == accepted
        sample = [item["record_id"] for item in first["sample"]]
        assert len(sample) == first["sample_size"]
        again = await department.post(
            "/v1/acceptance/lots", json={"phase": "2", "unit_code": "25489"}
        )
        assert again.status_code == 409
        for index, record_id in enumerate(sample):
            verdict = "defective" if index < first["rejection_number"] else "correct"
            response = await department.put(
                f"/v1/acceptance/lots/{lot['lot_id']}/items/{record_id}",
                json={"verdict": verdict, "note": "sai tên" if verdict == "defective" else ""},
            )
            assert response.status_code == 200, response.text
        failed = response.json()
        assert failed["status"] == "failed"
        assert failed["payment_due_vnd"] == 0
        second = (await department.post(f"/v1/acceptance/lots/{lot['lot_id']}/resample")).json()
        assert second["round"] == 2
        for item in second["rounds"][-1]["sample"]:
            response = await department.put(
                f"/v1/acceptance/lots/{lot['lot_id']}/items/{item['record_id']}",
                json={"verdict": "correct"},
            )
        passed = response.json()
        assert passed["status"] == "passed"
        assert passed["payment_due_vnd"] == accepted * 3000
        cost = (
            await department.get("/v1/reports/cost", params={"phase": "2", "unit_code": "705"})
        ).json()
        assert cost["payment_due_vnd"] == accepted * 3000
    async with reporting_service.client("25489", Role.CLERK) as clerk:
        seen = (await clerk.get(f"/v1/acceptance/lots/{lot['lot_id']}")).json()
        assert seen["status"] == "passed"
        refused = await clerk.put(
            f"/v1/acceptance/lots/{lot['lot_id']}/items/{sample[0]}", json={"verdict": "correct"}
        )
        assert refused.status_code == 403


async def test_reports_as_excel_and_csv(reporting_service: Service) -> None:
    async with reporting_service.client("705", Role.DISTRICT_OFFICER) as district:
        api = (await district.get("/v1/reports/progress", params={"phase": "2"})).json()
        xlsx = await district.get("/v1/reports/district.xlsx", params={"phase": "2"})
        csv_response = await district.get("/v1/reports/district.csv", params={"phase": "2"})
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content))["Tổng hợp theo đơn vị"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(row for row in rows if row[0] == "STT")
    total = next(row for row in rows if row[2] == "Tổng cộng")
    for metric, heading in (
        ("surveyed", "Số lượng theo khảo sát"),
        ("accepted", "Được chấp nhận"),
        ("rejected", "Bị từ chối"),
    ):
        assert total[header.index(heading)] == api["totals"][metric]
    assert total[header.index("Kinh phí (đồng)")] == api["totals"]["accepted"] * 3000
    text = csv_response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith(
        "STT,Mã đơn vị,Tên đơn vị,Số lượng theo khảo sát,Đã nhập"
    )
    async with reporting_service.client() as department:
        province = await department.get("/v1/reports/province.xlsx", params={"phase": "2"})
        assert province.status_code == 200
        book = load_workbook(io.BytesIO(province.content))
        assert book.sheetnames == [
            "Tổng hợp theo huyện",
            "Theo loại việc",
            "Kinh phí",
            "Nghiệm thu",
            "Lý do từ chối",
        ]
        cost_csv = await department.get(
            "/v1/reports/province.csv", params={"phase": "2", "sheet": 2}
        )
        assert "Thành tiền (đồng)" in cost_csv.content.decode("utf-8-sig").splitlines()[0]


async def test_readiness_reports_the_pipelined_consumer_running(reporting_service: Service) -> None:
    async with reporting_service.client() as client:
        answer = await client.get("/health/ready")
    assert answer.status_code == 200
    assert answer.json()["checks"] == {"kafka": True, "mongodb": True, "consumers": True}
    [consumer] = reporting_service.app.state.pipelined
    assert consumer.running

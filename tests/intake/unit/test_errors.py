"""Intake's error answers that do not need a running service."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from hotich_intake.entrypoints.errors import unavailable_handler
from hotich_runtime.errors import RetryableError


async def test_a_store_or_broker_error_escaping_an_endpoint_is_a_503_not_a_500() -> None:
    app = FastAPI()
    app.add_exception_handler(RetryableError, unavailable_handler)

    @app.get("/audit-failed")
    async def audit_failed() -> None:
        raise RetryableError("intake store: audit trail: connection refused")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        answer = await client.get("/audit-failed")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json()["message_vi"].startswith("Hệ thống tạm thời")
    assert "retry later" in answer.json()["message_en"]

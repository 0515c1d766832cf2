"""httpx client of the national database: the only module here that speaks HTTP to it."""

from __future__ import annotations

from typing import Any

import httpx

from hotich_export.service_layer.ports import NationalRejected
from hotich_runtime.errors import RetryableError


class TransientNationalError(RetryableError):
    """5xx, 429, timeout or connection failure; ``retry_after`` from the server when given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class HttpNationalDatabase:
    """Talks to the national database (or the sandbox) over HTTP."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"X-API-Key": api_key},
            timeout=timeout_s,
            transport=transport,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    async def create(
        self,
        *,
        idempotency_key: str,
        unit_code: str,
        record_id: str,
        version: int,
        record: dict[str, Any],
    ) -> tuple[str, int]:
        """POST the record; 201 and 409 both carry the national id."""
        body = {
            "unit_code": unit_code,
            "source_record_id": record_id,
            "source_version": version,
            "record": record,
        }
        try:
            response = await self._client.post(
                "/v1/records", json=body, headers={"Idempotency-Key": idempotency_key}
            )
        except httpx.HTTPError as exc:
            raise TransientNationalError(f"national database unreachable: {exc!r}") from exc
        if response.status_code in (200, 201, 409):
            return str(response.json()["national_id"]), response.status_code
        if response.status_code in (400, 422):
            raise NationalRejected(str(response.json().get("detail", response.text)))
        raise TransientNationalError(
            f"national database answered {response.status_code}", _retry_after(response)
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

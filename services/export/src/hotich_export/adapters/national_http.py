"""Client of the national database: the only module here that speaks HTTP to it.

Creates and updates go through the lean keep-alive pool of :mod:`.http1`; listing (and
every call when a transport is injected, in tests) through httpx.

Answers are classified here (see :mod:`hotich_export.service_layer.ports`):

========================  ==============================================================
201, 200                  written by this call: the national id
409 with a national id    written before (same idempotency key), or a newer version is
                          held: the national id, and the call counts as done
400, 404, 422, other 4xx  refused: ``NationalRejected`` with the national reason
429                       ``NationalThrottled`` with ``Retry-After`` (seconds or a date)
401, 403                  ``NationalUnavailable``: our credentials are wrong; retrying
                          with backoff until an operator fixes them loses nothing
5xx, timeout, connection  ``NationalUnavailable`` (with ``Retry-After`` if given)
========================  ==============================================================
"""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from hotich_export.adapters.http1 import Http1Pool
from hotich_export.service_layer.ports import (
    NationalHolding,
    NationalReceipt,
    NationalRejected,
    NationalThrottled,
    NationalUnavailable,
    RecordJson,
)

log = logging.getLogger(__name__)

CONNECTIONS_PER_POOL = 4
"""Connections of the httpx pool (listing, injected transports)."""
LIST_ATTEMPTS = 8
"""Tries per page when listing a unit for reconciliation."""

TransientNationalError = NationalUnavailable
"""Former name, kept for callers of the first release."""


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After``: delta seconds (decimals accepted) or an HTTP date."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {"text": raw[:1000].decode("utf-8", errors="replace")}
    return body if isinstance(body, dict) else {"body": body}


def _json(response: httpx.Response) -> dict[str, Any]:
    return _json_body(response.content)


def _classify(status: int, body: dict[str, Any], retry_after: str | None) -> NationalReceipt:
    if status in (200, 201) or (status == 409 and body.get("national_id")):
        return NationalReceipt(str(body["national_id"]), status, body)
    wait = retry_after_s(retry_after)
    if status == 429:
        raise NationalThrottled("national database rate limit", retry_after=wait, status=429)
    if status in (401, 403):
        log.error("the national database refused our credentials", extra={"status": status})
        raise NationalUnavailable(
            f"national database refused our credentials ({status})", status=status
        )
    if 400 <= status < 500:
        detail = body.get("detail", body.get("text", ""))
        raise NationalRejected(
            detail if isinstance(detail, str) else str(detail),
            status=status,
            code=body.get("code") if isinstance(body.get("code"), str) else None,
        )
    raise NationalUnavailable(
        f"national database answered {status}", retry_after=wait, status=status
    )


def write_body(unit_code: str, record_id: str, version: int, record: RecordJson) -> bytes:
    """The JSON body of a create or an update; an already serialized record is spliced in."""
    head = json.dumps(
        {"unit_code": unit_code, "source_record_id": record_id, "source_version": version},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if not isinstance(record, bytes):
        record = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    return head[:-1].encode() + b',"record":' + record + b"}"


class HttpNationalDatabase:
    """Talks to the national database (or the sandbox) over HTTP.

    Creates and updates (the hot path) go through :class:`~hotich_export.adapters.http1.
    Http1Pool`, a lean keep-alive client; reconciliation's listing, and every call when a
    ``transport`` is injected (tests), go through httpx.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 256,
        page_size: int = 1000,
    ) -> None:
        self._page_size = page_size
        # httpx serves reconciliation's listing (one page at a time) and injected
        # transports; its pool costs CPU in proportion to connections x waiting requests,
        # so it is kept small. The hot path has its own pool below.
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"X-API-Key": api_key},
            timeout=timeout_s,
            transport=transport,
            limits=httpx.Limits(
                max_connections=CONNECTIONS_PER_POOL,
                max_keepalive_connections=CONNECTIONS_PER_POOL,
            ),
        )
        self._pool = (
            Http1Pool(
                base_url,
                max_connections=max_connections,
                timeout_s=timeout_s,
                headers={"X-API-Key": api_key, "Content-Type": "application/json"},
            )
            if transport is None
            else None
        )

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise NationalUnavailable(f"national database unreachable: {exc!r}") from exc

    async def _write(self, method: str, path: str, key: str, body: bytes) -> NationalReceipt:
        """One create or update; the answer classified."""
        if self._pool is None:
            response = await self._call(
                method,
                path,
                content=body,
                headers={"Idempotency-Key": key, "Content-Type": "application/json"},
            )
            return _classify(
                response.status_code, _json(response), response.headers.get("Retry-After")
            )
        try:
            answer = await self._pool.request(
                method, path, headers={"Idempotency-Key": key}, body=body
            )
        except (OSError, TimeoutError) as exc:
            raise NationalUnavailable(f"national database unreachable: {exc!r}") from exc
        return _classify(answer.status, _json_body(answer.body), answer.headers.get("retry-after"))

    async def create(
        self,
        *,
        idempotency_key: str,
        unit_code: str,
        record_id: str,
        version: int,
        record: RecordJson,
    ) -> NationalReceipt:
        """``POST /v1/records``; 201 and 409 both carry the national id."""
        body = write_body(unit_code, record_id, version, record)
        return await self._write("POST", "/v1/records", idempotency_key, body)

    async def update(
        self,
        *,
        national_id: str,
        idempotency_key: str,
        unit_code: str,
        record_id: str,
        version: int,
        record: RecordJson,
    ) -> NationalReceipt:
        """``PUT /v1/records/{national_id}``; 200 and 409 both carry the national id."""
        body = write_body(unit_code, record_id, version, record)
        path = f"/v1/records/{quote(national_id, safe='')}"
        return await self._write("PUT", path, idempotency_key, body)

    async def holdings(self, unit_code: str) -> AsyncIterator[NationalHolding]:
        """Page through ``GET /v1/records?unit_code=...``; a page that fails is asked again."""
        after = 0
        while True:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(NationalUnavailable),
                wait=wait_exponential_jitter(multiplier=0.2, max=5.0),
                stop=stop_after_attempt(LIST_ATTEMPTS),
                reraise=True,
            ):
                with attempt:
                    page = await self._page(unit_code, after)
            for item in page["items"]:
                yield NationalHolding(
                    national_id=item["national_id"],
                    source_record_id=item.get("source_record_id"),
                    keys=tuple(item.get("keys") or (item["idempotency_key"],)),
                )
            if page.get("next_after") is None:
                return
            after = int(page["next_after"])

    async def _page(self, unit_code: str, after: int) -> dict[str, Any]:
        response = await self._call(
            "GET",
            "/v1/records",
            params={"unit_code": unit_code, "after": after, "limit": self._page_size},
        )
        if response.status_code != 200:
            raise NationalUnavailable(
                f"listing {unit_code}: national database answered {response.status_code}",
                status=response.status_code,
                retry_after=retry_after_s(response.headers.get("Retry-After")),
            )
        return _json(response)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()
        if self._pool is not None:
            await self._pool.aclose()

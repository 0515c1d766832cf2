"""The lean HTTP/1.1 pool of the national calls, against small raw servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager, suppress

import pytest

from hotich_export.adapters.http1 import Http1Pool
from hotich_export.adapters.national_http import HttpNationalDatabase
from hotich_export.service_layer.ports import NationalUnavailable

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n{"national_id":"N-1"}'


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request (headers and a Content-Length body); b"" at the end of the stream."""
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return b""
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return head + await reader.readexactly(length)


@asynccontextmanager
async def serving(serve: Serve) -> AsyncIterator[str]:
    """A raw server running ``serve`` per connection, at the URL yielded; on the way out
    it stops listening and ends every connection (a client that left is no error)."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with suppress(ConnectionError, asyncio.IncompleteReadError):
            await serve(reader, writer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await asyncio.sleep(0.01)


async def test_connections_are_kept_and_reused() -> None:
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while await read_request(reader):
            writer.write(OK)
            await writer.drain()
        writer.close()

    async with (
        serving(serve) as url,
        aclosing(Http1Pool(url, max_connections=2, timeout_s=5)) as pool,
    ):
        answers = [
            await pool.request("POST", "/v1/records", headers={"Idempotency-Key": "k"}, body=b"{}")
            for _ in range(5)
        ]
    assert [a.status for a in answers] == [201] * 5
    assert answers[0].body == b'{"national_id":"N-1"}'
    assert connections == 1


async def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    """The server's keep-alive timeout: one answer per connection, then it closes it."""
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(OK)
        await writer.drain()
        writer.close()

    async with (
        serving(serve) as url,
        aclosing(Http1Pool(url, max_connections=1, timeout_s=5)) as pool,
    ):
        for _ in range(3):
            answer = await pool.request("POST", "/v1/records", headers={}, body=b"{}")
            assert answer.status == 201
    assert len(seen) == 3


async def test_chunked_answers_and_the_request_as_sent() -> None:
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(
            b"HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\nRetry-After: 2\r\n\r\n"
            b'5\r\n{"nat\r\n10\r\nional_id":"N-7"}\r\n0\r\n\r\n'
        )
        await writer.drain()
        writer.close()

    async with (
        serving(serve) as url,
        aclosing(HttpNationalDatabase(url + "/api", "secret", 5.0)) as national,
    ):
        receipt = await national.update(
            national_id="N 7/x",
            idempotency_key="r:v2",
            unit_code="25459",
            record_id="r",
            version=2,
            record=b'{"record_type":"birth"}',
        )
    assert (receipt.national_id, receipt.http_status) == ("N-7", 409)
    head, body = seen[0].split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "PUT /api/v1/records/N%207%2Fx HTTP/1.1"
    assert {"X-API-Key: secret", "Idempotency-Key: r:v2", "Content-Type: application/json"} <= set(
        lines
    )
    assert body == (
        b'{"unit_code":"25459","source_record_id":"r","source_version":2,'
        b'"record":{"record_type":"birth"}}'
    )


async def test_no_answer_in_time_and_refused_connections_are_unavailable() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # no answer; waits until the client gives up

    async with serving(silent) as url, aclosing(HttpNationalDatabase(url, "k", 0.2)) as national:
        with pytest.raises(NationalUnavailable, match="unreachable"):
            await national.create(
                idempotency_key="a:v1", unit_code="1", record_id="a", version=1, record={}
            )
    await asyncio.sleep(0.05)
    async with aclosing(HttpNationalDatabase(url, "k", 1.0)) as refused:  # the server is gone
        with pytest.raises(NationalUnavailable, match="unreachable"):
            await refused.create(
                idempotency_key="a:v1", unit_code="1", record_id="a", version=1, record={}
            )


async def test_a_broken_answer_is_unavailable() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()
        writer.close()

    async with serving(garbage) as url, aclosing(HttpNationalDatabase(url, "k", 1.0)) as national:
        with pytest.raises(NationalUnavailable):
            await national.create(
                idempotency_key="a:v1", unit_code="1", record_id="a", version=1, record={}
            )


async def test_header_values_cannot_smuggle_lines() -> None:
    pool = Http1Pool("http://127.0.0.1:9", max_connections=1, timeout_s=1)
    with pytest.raises(ValueError, match="line break"):
        await pool.request("POST", "/", headers={"Idempotency-Key": "a\r\nX-Evil: 1"}, body=b"")
    with pytest.raises(ValueError, match="not an http"):
        Http1Pool("ftp://x", max_connections=1, timeout_s=1)

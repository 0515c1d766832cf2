"""A lean HTTP/1.1 keep-alive client for the national calls: asyncio protocol + httptools.

Why not httpx on the hot path: per call it builds URL, header, request and response
models, runs cookie, auth and redirect machinery and goes through anyio streams and
httpcore's pool, about 0.5 ms of CPU per call, half of export's CPU per record. This
client writes the request bytes in one go and parses the answer with httptools' C
parser (the one uvicorn uses; ``hotich-runtime`` depends on it), several times cheaper.
It speaks only what the national calls need: one request at a time per connection (no
pipelining), a body known in advance, ``Content-Length`` or chunked answers, keep-alive,
TLS for ``https``. Reconciliation's listing and injected transports (tests) stay on
httpx.

Connections are kept idle and reused (LIFO); at most ``max_connections`` are open. A
call on a reused connection that the server closed meanwhile (its keep-alive timeout)
is sent again once on a new connection: every national call carries an idempotency
key, so a repeat is harmless. Every other failure raises :class:`OSError` or
:class:`TimeoutError` (``timeout_s`` covers the whole call).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools


class HttpProtocolError(OSError):
    """The server's answer was not valid HTTP/1.1, or the connection broke mid-call."""


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers (names lower-case) and the body."""

    status: int
    headers: dict[str, str]
    body: bytes


def _check_header_value(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"header value with a line break: {value!r}")
    return value


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Answer] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self.closed = False
        self.answered = False
        """True once an answer came on it: a reused connection."""
        self._got_bytes = False

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio's, but behave alike
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpProtocolError(f"invalid HTTP answer: {exc!r}"))
            self.close()

    def eof_received(self) -> bool:
        self.closed = True
        self._fail(HttpProtocolError("connection closed by the server"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(HttpProtocolError(f"connection lost: {exc!r}" if exc else "connection closed"))

    # -- httptools callbacks --------------------------------------------------------

    def on_message_begin(self) -> None:
        self._headers = {}
        self._body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # 1xx: an interim answer, the real one follows
            return
        if not self._parser.should_keep_alive():
            self.close()
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            self.close()  # an answer nobody asked for: the connection is out of step
            return
        self.answered = True
        waiter.set_result(Answer(status, self._headers, b"".join(self._body)))

    # -- use ------------------------------------------------------------------------

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    @property
    def got_bytes(self) -> bool:
        """Whether anything of the current answer arrived."""
        return self._got_bytes

    def send(self, request: bytes) -> asyncio.Future[Answer]:
        """Write ``request``; the future resolves with its answer."""
        if self.closed or self._transport is None or self._transport.is_closing():
            raise HttpProtocolError("connection closed")
        self._got_bytes = False
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return self._waiter

    def close(self) -> None:
        """Close the connection (an unfinished call fails)."""
        self.closed = True
        if self._transport is not None:
            self._transport.close()


class Http1Pool:
    """Keep-alive connections to one origin; ``request`` sends one call and reads the answer."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int,
        timeout_s: float,
        headers: dict[str, str] | None = None,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._host = url.hostname
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._ssl = ssl.create_default_context() if url.scheme == "https" else None
        self._prefix = url.path.rstrip("/")
        default_port = self._port == (443 if url.scheme == "https" else 80)
        host = self._host if ":" not in self._host else f"[{self._host}]"
        authority = host if default_port else f"{host}:{self._port}"
        fixed = {"Host": authority, "User-Agent": "hotich-export", **(headers or {})}
        self._fixed = "".join(f"{k}: {_check_header_value(v)}\r\n" for k, v in fixed.items())
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()

    def _request_bytes(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        lines = "".join(f"{k}: {_check_header_value(v)}\r\n" for k, v in headers.items())
        head = (
            f"{method} {self._prefix}{path} HTTP/1.1\r\n{self._fixed}{lines}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode("latin-1") + body

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            _Connection,
            self._host,
            self._port,
            ssl=self._ssl,
            server_hostname=self._host if self._ssl else None,
        )
        self._open.add(connection)
        return connection

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
            self._open.discard(connection)
        return None

    async def request(
        self, method: str, path: str, *, headers: dict[str, str], body: bytes
    ) -> Answer:
        """Send one call; return its answer.

        Raises:
            OSError: refused or broken connection, or not HTTP.
            TimeoutError: no complete answer within ``timeout_s``.
        """
        data = self._request_bytes(method, path, headers, body)
        async with self._slots, asyncio.timeout(self._timeout_s):
            for attempt in range(2):
                connection = self._take_idle() or await self._connect()
                reused = connection.answered
                try:
                    answer = await connection.send(data)
                except HttpProtocolError:
                    connection.close()
                    self._open.discard(connection)
                    if attempt == 0 and reused and not connection.got_bytes:
                        continue  # closed while idle (keep-alive timeout): once more, anew
                    raise
                except BaseException:
                    connection.close()  # timeout or cancelled mid-call: out of step
                    self._open.discard(connection)
                    raise
                if connection.closed:
                    self._open.discard(connection)
                else:
                    self._idle.append(connection)
                return answer
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def aclose(self) -> None:
        """Close every connection."""
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()
        await asyncio.sleep(0)

"""A lean HTTP/1.1 client for the fleet's streamed calls: keep-alive connections to one server, each
response parsed by httptools (the C parser uvicorn uses), its body handed over as it arrives.

Every proxied chat crosses this path twice (the request out, the answer back), and aiohttp spent
more Python on it than the rest of the gateway's relay together: request and response objects,
tracing hooks, cookie handling, a timer per read. This does only what a streamed call needs — one
POST with a JSON body, the status, the body as it comes (sized or chunked), connection reuse, a
connect and a read timeout — on an asyncio protocol.

A reused connection that the server closed before answering (an idle connection it dropped as the
request left) is retried once on a new one: the server never read the request.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httptools

MAX_IDLE = 64  # connections kept per server; the fleet's own per-instance limit is far lower


class ConnectFailed(OSError):
    """No connection could be made: the request was never sent."""


class ServerClosed(ConnectionResetError):
    """The server closed the connection before the response was complete."""


class _Connection(asyncio.Protocol):
    """One connection; one response at a time. httptools calls the ``on_*`` methods while it parses."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.received = False  # any byte of the current response
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.body: list[bytes] = []
        self.error: BaseException | None = None

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing() and self.error is None

    async def exchange(self, request: bytes, timeout_s: float) -> None:
        """Send ``request`` and wait for the head of its response."""
        assert self.transport is not None
        self._reset()
        self.transport.write(request)
        while not self.headers_done:
            await self.wait(timeout_s)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    async def wait(self, timeout_s: float) -> None:
        """Until the parser has more to say (or the connection fails, or ``timeout_s`` pass)."""
        if self.error is not None:
            raise self.error
        waiter = self._waiter = self._loop.create_future()
        timer = self._loop.call_later(timeout_s, self._time_out, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        if self.error is not None:
            raise self.error

    def _time_out(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError())

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = exc
            self.close()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.complete and self.error is None:
            self.error = ServerClosed(f"the server closed the connection{f': {exc}' if exc else ''}")
        self._wake()

    # httptools
    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class Response:
    """A response whose head has arrived; its body is read as it comes."""

    def __init__(self, connection: _Connection, read_timeout_s: float) -> None:
        self._connection = connection
        self._read_timeout_s = read_timeout_s
        self.status = connection.status

    async def read_any(self) -> bytes:
        """What of the body has arrived (waiting for some); ``b""`` at its end."""
        connection = self._connection
        while not connection.body and not connection.complete:
            await connection.wait(self._read_timeout_s)
        parts, connection.body = connection.body, []
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def read(self) -> bytes:
        parts = []
        while part := await self.read_any():
            parts.append(part)
        return b"".join(parts)


class Http1Pool:
    """Keep-alive connections to the server at ``base_url``."""

    def __init__(self, base_url: str, connect_timeout_s: float) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "localhost"
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        self._host_header = parts.netloc.rsplit("@", 1)[-1].encode()
        self._connect_timeout_s = connect_timeout_s
        self._idle: list[_Connection] = []

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle = []

    @asynccontextmanager
    async def post(self, path: str, body: bytes, read_timeout_s: float) -> AsyncIterator[Response]:
        """POST ``body`` (JSON) and hand over the response once its head has arrived. Leaving before
        its end closes the connection, which is how a server learns to stop."""
        request = b"".join([b"POST ", path.encode(), b" HTTP/1.1\r\nHost: ", self._host_header,
                            b"\r\nUser-Agent: tsa\r\nAccept: */*\r\nContent-Type: application/json\r\n"
                            b"Content-Length: ", str(len(body)).encode(), b"\r\n\r\n", body])
        connection, reused = await self._connection()
        try:
            try:
                await connection.exchange(request, read_timeout_s)
            except ServerClosed:
                if not reused or connection.received:
                    raise
                connection = await self._new_connection()  # it was dropped while idle
                await connection.exchange(request, read_timeout_s)
            yield Response(connection, read_timeout_s)
        finally:
            if connection.complete and connection.keep_alive and connection.usable and len(self._idle) < MAX_IDLE:
                self._idle.append(connection)
            else:
                connection.close()

    async def _connection(self) -> tuple[_Connection, bool]:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable:
                return connection, True
        return await self._new_connection(), False

    async def _new_connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        context = ssl.create_default_context() if self._tls else None
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, connection = await loop.create_connection(lambda: _Connection(loop), self._host, self._port,
                                                             ssl=context)
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(f"cannot connect to {self._host}:{self._port}: {type(exc).__name__} {exc}") from exc
        return connection

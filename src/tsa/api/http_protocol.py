"""uvicorn's HTTP protocol (httptools) with one change: a response's head leaves with its first body
part, in one ``send``.

uvicorn writes the status line and headers the moment the app sends ``http.response.start``, then each
body part as it is sent, so a small JSON answer costs two system calls and its client two wake-ups.
On a loopback connection each costs about as much as a proxied call's own Python work. Here the head
waits for the next write and goes out with it, as nginx sends them; if no body part follows in the
same turn of the event loop (a stream whose first part is still being made), the head goes out alone
at the end of that turn. Body parts are never held back: the work an app does after its last write
runs while the client already reads.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport that holds a response head until the next write (or the end of the loop turn)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head = b""

    def write(self, data: bytes) -> None:
        if self._head:
            data, self._head = self._head + data, b""
        elif data.startswith(b"HTTP/"):  # uvicorn writes a response's status line and headers on their own
            self._head = data
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def writelines(self, parts: Any) -> None:
        self.write(b"".join(parts))

    def flush(self) -> None:
        if self._head:
            head, self._head = self._head, b""
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = b""
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

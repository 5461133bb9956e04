"""Limits on what one client may hold: request bodies cut off at their limit as they arrive, chunked
or not, and responses to a client that stops reading ended after a write timeout.

A ``Content-Length`` over the limit is refused before reading (in the route); a chunked body
has none, so this counts bytes as the application receives them and stops at the limit instead
of spooling the whole body to disk first.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsa import metrics
from tsa.wait_guard import WaitGuard, WaitTimedOut

# FastAPI re-raises an HTTPException met while parsing a body (any other error becomes a 400).
Limit = Callable[[Scope], int | None]


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: Limit) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the request body is over the {limit}-byte limit")
            return message

        await self.app(scope, counted, send)


class WriteTimeoutMiddleware:
    """A client that stops reading is let go: a response write that cannot finish within
    ``timeout_s`` (the socket's buffers full, the client not draining them) ends the response, and
    with it the generation upstream and its instance slot."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, write_timed(send, self.timeout_s))
        except ClientTooSlow:
            pass  # the response is cut short; the server closes the connection


def write_timed(send: Send, timeout_s: float) -> Send:
    """``send``, raising ``ClientTooSlow`` when a write cannot finish within ``timeout_s`` (one
    timer per response, not one per chunk written: ``WaitGuard``)."""
    guard: WaitGuard | None = None

    async def timed(message: Message) -> None:
        nonlocal guard
        guard = guard or WaitGuard(timeout_s)
        try:
            await guard.wait(send(message))
        except WaitTimedOut:
            metrics.SLOW_CLIENTS_DROPPED.inc()
            raise ClientTooSlow(f"the client read nothing for {timeout_s:g} s") from None
        if message["type"] == "http.response.body" and not message.get("more_body"):
            guard.close()
    return timed


class ClientTooSlow(Exception):
    """Raised into the response being written; the server closes the connection."""

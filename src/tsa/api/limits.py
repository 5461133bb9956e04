"""Request bodies cut off at their limit as they arrive, chunked or not.

A ``Content-Length`` over the limit is refused before reading (in the route); a chunked body
has none, so this counts bytes as the application receives them and stops at the limit instead
of spooling the whole body to disk first.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

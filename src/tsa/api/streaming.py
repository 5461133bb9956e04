"""A streaming response that always settles what its body holds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

T = TypeVar("T")


class SettledStreamingResponse(StreamingResponse):
    """Runs ``settle`` once the response ends, however it ends. A client that leaves before the
    body begins leaves the body's generator unstarted, and closing an unstarted generator runs
    none of its cleanup: the open generation upstream and its instance slot would stay taken."""

    def __init__(self, content: AsyncIterator[bytes], settle: Callable[[], Awaitable[None]], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.settle = settle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.settle()


CLIENT_GONE_STATUS = 499  # nginx's "client closed request": nobody reads it, the logs do


async def while_connected(request: Request, work: Awaitable[T], settle: Callable[[], Awaitable[None]],
                          poll_s: float = 0.25) -> T | Response:
    """``work`` (a whole, non-streamed answer being collected) unless the client leaves first: then it
    is cancelled, ``settle`` closes the generation upstream, and a 499 stands in for the answer."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=poll_s)
            if done:
                return task.result()
            if await request.is_disconnected():
                return Response(status_code=CLIENT_GONE_STATUS)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await settle()

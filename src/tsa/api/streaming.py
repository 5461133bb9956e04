"""Responses that settle what they hold once sent, and stop early when their client leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar

from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from tsa.json_codec import dumps

T = TypeVar("T")
CLIENT_GONE_STATUS = 499  # nginx's "client closed request": nobody reads it, the logs do


class DisconnectWatch:
    """Cancels the task that made it if the client disconnects before ``close``.

    One task waiting on ``receive``: starlette's streaming response watches with a task group per
    response (uvicorn speaks ASGI 2.3), which cost more than the rest of a relayed answer's own work.
    Most answers from a fast instance are complete within ``WATCH_AFTER_S``, so the watching task is
    only started then: a client that leaves is noticed at most that much later. The body must have
    been read already. A cancellation asked for elsewhere stays one."""

    WATCH_AFTER_S = 0.05

    def __init__(self, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None  # responses are always sent by a task
        self._task = task
        self._cancelling = task.cancelling()
        self._receive = receive
        self._watcher: asyncio.Task[None] | None = None
        self._start = asyncio.get_running_loop().call_later(self.WATCH_AFTER_S, self._watch_now)
        self.gone = False

    def _watch_now(self) -> None:
        self._watcher = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        if not self._start.cancelled():  # not closed meanwhile
            self.gone = True
            self._task.cancel()

    def left(self) -> bool:
        """Whether the cancellation being handled was the client leaving (it is then over)."""
        return self.gone and self._task.uncancel() <= self._cancelling

    def close(self) -> None:
        """Stop watching; from now on a disconnect is of no concern (the response is complete)."""
        self._start.cancel()
        if self._watcher is not None:
            self._watcher.cancel()


class SettledStreamingResponse(StreamingResponse):
    """Runs ``settle`` once the response ends, however it ends. A client that leaves before the
    body begins leaves the body's generator unstarted, and closing an unstarted generator runs
    none of its cleanup: the open generation upstream and its instance slot would stay taken.
    A client that leaves mid-stream stops it (``DisconnectWatch``)."""

    def __init__(self, content: AsyncIterator[bytes], settle: Callable[[], Awaitable[None]], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.settle = settle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = DisconnectWatch(receive)
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for part in self.body_iterator:
                await send({"type": "http.response.body", "body": part, "more_body": True})
            watch.close()  # a complete response makes uvicorn's receive say "disconnect" at once
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not watch.left():
                raise
        finally:
            watch.close()
            await self.settle()


class SettledJSONResponse(JSONResponse):
    """A JSON response whose ``settle`` runs after it is sent (or fails to be): the client has its
    answer before the bookkeeping behind it is done."""

    def __init__(self, content: Any, settle: Callable[[], Awaitable[None]], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.settle = settle

    def render(self, content: Any) -> bytes:
        return dumps(content)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.settle()


class Closable(Protocol):
    async def aclose(self) -> None: ...


def closing(*streams: Closable) -> Callable[[], Awaitable[None]]:
    """Closes each in turn (outermost first): the settling of a stream and the layers around it."""
    async def close() -> None:
        for stream in streams:
            await stream.aclose()
    return close


async def while_connected(receive: Receive, work: Awaitable[T], settle: Callable[[], Awaitable[None]]) -> T | Response:
    """``work`` (a whole, non-streamed answer being collected) unless the client leaves first: then it
    is cancelled, ``settle`` closes the generation upstream, and a 499 stands in for the answer."""
    watch = DisconnectWatch(receive)
    try:
        return await work
    except asyncio.CancelledError:
        if not watch.left():
            raise
        await settle()
        return Response(status_code=CLIENT_GONE_STATUS)
    finally:
        watch.close()

"""A streaming response that always settles what its body holds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


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

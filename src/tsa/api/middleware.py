"""HTTP metrics as a plain ASGI middleware (streams are timed to their last byte)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsa import metrics


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = scope.get("route")
            # Templates ("/api/documents/{document_id}") keep label values bounded.
            path = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(path, scope["method"], str(status)).inc()
            metrics.HTTP_DURATION.labels(path, scope["method"]).observe(time.perf_counter() - started)

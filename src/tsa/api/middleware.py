"""HTTP metrics as a plain ASGI middleware (streams are timed to their last byte)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsa import metrics
from tsa.api.clients import ClientLabels
from tsa.asgi import header


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, clients: ClientLabels) -> None:
        self.app = app
        self.clients = clients

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
            # Templates ("/api/documents/{document_id}") keep label values bounded.
            record_request(scope, getattr(scope.get("route"), "path", "unmatched"), status, started, self.clients)


def record_request(scope: Scope, route: str, status: int, started: float, clients: ClientLabels) -> None:
    """Count and time one answered request, under its route template."""
    if scope["path"].startswith("/api/"):
        # After the route: by then the gate has left the signed-in caller in the request state.
        principal = scope.get("state", {}).get("principal")
        metrics.CLIENT_REQUESTS.labels(clients.label(header(scope, b"x-client-id"), principal)).inc()
    metrics.HTTP_REQUESTS.labels(route, scope["method"], str(status)).inc()
    metrics.HTTP_DURATION.labels(route, scope["method"]).observe(time.perf_counter() - started)

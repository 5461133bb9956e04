"""Fault and latency injection for tests and benchmarks (``tsa engine --fail-rate/--inject-latency-ms``)."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from tsa.asgi import read_body, replaying

MODEL_PATHS = ("/api/embed", "/api/embeddings", "/api/chat", "/api/generate", "/v1/embeddings",
               "/v1/chat/completions")


@dataclass
class Faults:
    fail_rate: float = 0.0
    extra_latency_s: float = 0.0
    ignore_num_predict: bool = False  # a server that generates past the caller's limit
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @property
    def active(self) -> bool:
        return self.fail_rate > 0 or self.extra_latency_s > 0 or self.ignore_num_predict


class FaultInjector:
    """Delays every model call and fails a share of them with a 500, as a sick server would."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in MODEL_PATHS:
            await self.app(scope, receive, send)
            return
        if self.faults.extra_latency_s:
            await asyncio.sleep(self.faults.extra_latency_s)
        if self.faults.rng.random() < self.faults.fail_rate:
            body = json.dumps({"error": "injected failure"}).encode()
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        if self.faults.ignore_num_predict:
            receive = await _without_limits(receive)
        await self.app(scope, receive, send)


async def _without_limits(receive: Receive) -> Receive:
    """The request body with ``options.num_predict`` and ``max_tokens`` taken out."""
    raw = await read_body(receive)
    try:
        body = json.loads(raw)
        (body.get("options") or {}).pop("num_predict", None)
        body.pop("max_tokens", None)
        raw = json.dumps(body).encode()
    except (ValueError, AttributeError):
        pass
    return replaying(raw, receive)

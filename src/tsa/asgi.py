"""Small helpers for raw ASGI apps and middleware (the drop-in lane, the metrics, the engine's fault
injection, the benchmarks' servers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """A request header's value (``name`` in lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    """The whole request body, however many messages it came in."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def replaying(body: bytes, receive: Callable[[], Awaitable[dict[str, Any]]]) -> Callable[[], Awaitable[dict[str, Any]]]:
    """``receive`` as if the body had not been read: ``body`` first, then whatever comes next."""
    replayed = False

    async def again() -> dict[str, Any]:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}
    return again

"""Waiting for a `tsa serve` subprocess, shared by the end-to-end and browser tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from bench.common import wait_ready  # noqa: F401 - shared with the benchmarks, which start tsa serve too
from tsa.runtime.children import free_port


@contextlib.asynccontextmanager
async def served_asgi(app: Any, lifespan: str = "off", force_exit: bool = False) -> AsyncIterator[int]:
    """``app`` on a real loopback socket (uvicorn, in this event loop) while the block runs: its port.
    ``force_exit`` stops it without waiting for requests still in progress."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        server.force_exit = force_exit
        await task

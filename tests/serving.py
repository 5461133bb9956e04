"""Waiting for a `tsa serve` subprocess, shared by the end-to-end and browser tests."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tsa.runtime.children import free_port


def wait_ready(base: str, server: subprocess.Popen, log: Path, seconds: float = 240) -> None:
    """Until ``/ready`` answers 200; fails with the server's log if it exits or never gets there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"tsa serve never became ready:\n{log.read_text()}")


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

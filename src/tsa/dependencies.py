"""Reachability of PostgreSQL and Redis: checked in the background for ``tsa_dependency_up``,
and on demand for /ready. A check never raises: it reports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from tsa import metrics

Probe = Callable[[], Awaitable[Any]]
CHECK_TIMEOUT_S = 2.0


async def check(probe: Probe, timeout_s: float = CHECK_TIMEOUT_S) -> dict[str, Any]:
    try:
        await asyncio.wait_for(probe(), timeout=timeout_s)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}


async def check_all(probes: dict[str, Probe]) -> dict[str, dict[str, Any]]:
    results = await asyncio.gather(*(check(probe) for probe in probes.values()))
    return dict(zip(probes, results, strict=True))


@contextlib.asynccontextmanager
async def watching(probes: dict[str, Probe], interval_s: float) -> AsyncIterator[None]:
    """Check every ``interval_s`` while the block runs."""

    async def loop() -> None:
        while True:
            for name, result in (await check_all(probes)).items():
                metrics.DEPENDENCY_UP.labels(name).set(1 if result["ok"] else 0)
            await asyncio.sleep(interval_s)

    task = asyncio.create_task(loop(), name="dependency-checks")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

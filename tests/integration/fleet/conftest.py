"""Helpers for fleet tests (the ``engines`` fixture lives one level up)."""

from __future__ import annotations

import asyncio

from tsa.fleet import Fleet, FleetOptions, InstanceConfig
from tsa.fleet.outliers import EjectionPolicy


def fleet_of(urls: list[str], *, health_interval_s: float = 1.0, max_concurrency: int = 4,
             **options: object) -> Fleet:
    return Fleet([InstanceConfig(url, max_concurrency=max_concurrency) for url in urls],
                 FleetOptions(health_interval_s=health_interval_s,
                              ejection=EjectionPolicy(max_s=health_interval_s), **options))


async def gather_bounded(calls: list, concurrency: int) -> list:
    """Run the coroutine factories with at most ``concurrency`` in flight; results or exceptions."""
    gate = asyncio.Semaphore(concurrency)

    async def one(call):
        async with gate:
            try:
                return await call()
            except Exception as exc:  # collected and asserted on by the caller
                return exc

    return await asyncio.gather(*(one(c) for c in calls))

"""What ``tsa serve`` starts, it supervises: an embedded engine, Redis or PostgreSQL that dies is
reaped and started again in place (same port, socket or data directory), with back-off while it
keeps failing, and every restart is logged and counted (``tsa_embedded_restarts_total``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tsa import metrics

log = logging.getLogger("tsa.runtime")


@dataclass(frozen=True)
class Child:
    name: str  # engine, redis, postgres
    alive: Callable[[], bool]  # cheap and non-blocking; for a child process it also reaps the zombie
    restart: Callable[[], None]  # blocking: run in a thread


def backoff_s(failures: int, base_s: float = 1.0, cap_s: float = 30.0) -> float:
    """Wait before the next attempt after ``failures`` failed restarts in a row: 1, 2, 4 … 30 s."""
    return min(cap_s, base_s * 2 ** max(0, failures - 1)) if failures else 0.0


class Supervisor:
    def __init__(self, children: list[Child], interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.children, self.interval_s, self._clock = children, interval_s, clock
        self._failures = {c.name: 0 for c in children}
        self._not_before = {c.name: 0.0 for c in children}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check_once()

    async def check_once(self) -> None:
        for child in self.children:
            if child.alive() or self._clock() < self._not_before[child.name]:
                continue
            log.warning("embedded %s is not running; starting it again", child.name)
            try:
                await asyncio.to_thread(child.restart)
            except Exception as exc:  # noqa: BLE001 - logged, counted and tried again after a back-off
                self._failures[child.name] += 1
                wait_s = backoff_s(self._failures[child.name])
                self._not_before[child.name] = self._clock() + wait_s
                metrics.EMBEDDED_RESTARTS.labels(child.name, "failed").inc()
                log.error("embedded %s did not start (%s); next attempt in %g s", child.name, exc, wait_s)
            else:
                self._failures[child.name] = 0
                metrics.EMBEDDED_RESTARTS.labels(child.name, "ok").inc()
                log.warning("embedded %s is running again", child.name)

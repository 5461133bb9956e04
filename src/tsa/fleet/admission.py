"""Backpressure: callers wait in a bounded priority queue when every candidate is full.

Interactive calls (chat, query embeddings) go ahead of bulk ones (ingestion).
A freed slot is handed straight to the best waiter that can use it, so a
newcomer never jumps the queue.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from tsa.fleet.instance import Instance


class Priority(IntEnum):
    INTERACTIVE = 0
    BULK = 1


@dataclass(order=True)
class Waiter:
    priority: int
    seq: int
    pick: Callable[[], Instance | None] = field(compare=False, repr=False)
    future: asyncio.Future[Instance] = field(compare=False, repr=False)


class AdmissionQueue:
    def __init__(self, max_waiting: int, on_change: Callable[[AdmissionQueue], None] | None = None) -> None:
        self.max_waiting = max_waiting
        self._heap: list[Waiter] = []
        self._seq = itertools.count()
        self._on_change = on_change or (lambda queue: None)

    def __len__(self) -> int:
        return len(self._heap)

    def depth(self, priority: Priority) -> int:
        return sum(1 for w in self._heap if w.priority == priority and not w.future.done())

    def has_waiters_before(self, priority: Priority) -> bool:
        return any(w.priority <= priority and not w.future.done() for w in self._heap)

    def full(self) -> bool:
        return len(self._heap) >= self.max_waiting

    async def wait(self, priority: Priority, pick: Callable[[], Instance | None],
                   release: Callable[[Instance], None], timeout_s: float) -> Instance:
        """Wait until ``pick`` takes a slot for us; raises TimeoutError after ``timeout_s``.

        If the caller leaves (timeout, cancellation) in the instant a slot was handed
        to it, the slot goes back through ``release``.
        """
        waiter = Waiter(int(priority), next(self._seq), pick, asyncio.get_running_loop().create_future())
        heapq.heappush(self._heap, waiter)
        self._on_change(self)
        self.dispatch()
        try:
            return await asyncio.wait_for(asyncio.shield(waiter.future), timeout_s)
        except BaseException:
            if waiter.future.done() and not waiter.future.cancelled():
                release(waiter.future.result())
            waiter.future.cancel()
            raise
        finally:
            self._prune()

    def dispatch(self) -> None:
        """Give free slots to waiters, best first; a waiter nothing fits stays queued."""
        for waiter in sorted(self._heap):
            if waiter.future.done():
                continue
            instance = waiter.pick()
            if instance is not None:
                waiter.future.set_result(instance)

    def _prune(self) -> None:
        self._heap = [w for w in self._heap if not w.future.done()]
        heapq.heapify(self._heap)
        self._on_change(self)

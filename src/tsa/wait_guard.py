"""One timer for many waits: the relay's stall guard and deadline, and the write timeout.

``asyncio.timeout`` around each wait arms and cancels a timer per wait: about 6 µs, paid per token
read from an instance and per chunk written to a client, on the gateway's hottest path. The guard
arms one timer and, when it fires, looks at what its task is doing: in a wait for longer than
``limit_s``, or past the deadline, it cancels the task, which ``wait`` turns into ``WaitTimedOut``;
otherwise it re-arms for the next moment that could be too late. A wait that needs no suspension
costs a few attribute writes.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from typing import Literal, TypeVar

T = TypeVar("T")
Reason = Literal["too long", "deadline"]


class WaitTimedOut(Exception):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason


class WaitGuard:
    """``limit_s``: the longest one wait may take; ``budget_s``: the time left for all of them."""

    def __init__(self, limit_s: float, budget_s: float = math.inf) -> None:
        self._loop = asyncio.get_running_loop()
        self.limit_s = limit_s
        self.deadline = self._loop.time() + budget_s
        self._timer: asyncio.TimerHandle | None = None
        self._waiting_since: float | None = None
        self._task: asyncio.Task[object] | None = None
        self._fired: Reason | None = None

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``'s result, or ``WaitTimedOut``. Waits are one at a time, in one task."""
        now = self._loop.time()
        if now >= self.deadline:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never started: say so, rather than leave it unawaited
            raise WaitTimedOut("deadline")
        task = asyncio.current_task()
        assert task is not None  # waits are always made by a task
        self._task, self._waiting_since, self._fired = task, now, None
        cancelling = task.cancelling()
        if self._timer is None:
            self._timer = self._loop.call_at(min(now + self.limit_s, self.deadline), self._check)
        try:
            return await awaitable
        except asyncio.CancelledError:
            # Ours only if this guard fired and nobody else asked for a cancellation meanwhile.
            if self._fired is not None and task.uncancel() <= cancelling:
                raise WaitTimedOut(self._fired) from None
            raise
        finally:
            self._waiting_since = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        since = self._waiting_since
        if since is None or self._task is None:
            return  # not waiting: the next wait arms the timer again
        now = self._loop.time()
        if now >= self.deadline:
            self._fired = "deadline"
        elif now - since >= self.limit_s:
            self._fired = "too long"
        else:
            self._timer = self._loop.call_at(min(since + self.limit_s, self.deadline), self._check)
            return
        self._task.cancel()

"""Run a blocking generator in a worker thread and consume it from the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def iterate_in_thread(produce: Callable[[threading.Event], Iterator[T]]) -> AsyncIterator[T]:
    """Yield what ``produce`` yields, without blocking the loop.

    ``produce`` receives an event that is set when the consumer stops early
    (client gone); it should check it between items and return. The generator
    does not finish until the worker thread has, so callers may hold a lock
    around it safely.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    cancelled = threading.Event()

    def put(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop closed while the thread was still running
            cancelled.set()

    def run() -> None:
        try:
            for item in produce(cancelled):
                put(item)
                if cancelled.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, re-raised there
            put(_Failure(exc))
        finally:
            put(_END)

    worker = loop.run_in_executor(None, run)
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        cancelled.set()
        await asyncio.shield(worker)

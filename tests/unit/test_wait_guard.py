"""One timer for many waits (the relay's stall guard and deadline), judged by what the task is doing."""

import asyncio

import pytest

from tsa.wait_guard import WaitGuard, WaitTimedOut


async def items(gaps: list[float]):
    for n, gap in enumerate(gaps):
        await asyncio.sleep(gap)
        yield n


async def read_all(guard: WaitGuard, stream, pause_s: float = 0.0) -> list[int]:
    got = []
    try:
        while True:
            got.append(await guard.wait(anext(stream)))
            await asyncio.sleep(pause_s)  # the consumer's own time: never a stall
    except StopAsyncIteration:
        return got
    finally:
        guard.close()


async def test_a_stream_that_keeps_coming_is_read_to_its_end():
    assert await read_all(WaitGuard(0.2, 10), items([0.05] * 8)) == list(range(8))


async def test_a_wait_longer_than_the_stall_limit_times_out_as_stalled():
    with pytest.raises(WaitTimedOut) as caught:
        await read_all(WaitGuard(0.1, 10), items([0.0, 0.0, 1.0]))
    assert caught.value.reason == "too long"


async def test_a_slow_consumer_is_not_a_stalled_stream():
    assert await read_all(WaitGuard(0.1, 10), items([0.0] * 3), pause_s=0.25) == [0, 1, 2]


async def test_a_steady_stream_past_its_deadline_times_out():
    with pytest.raises(WaitTimedOut) as caught:
        await read_all(WaitGuard(0.2, 0.3), items([0.05] * 40))
    assert caught.value.reason == "deadline"


async def test_a_cancellation_from_elsewhere_stays_a_cancellation():
    guard = WaitGuard(5, 10)
    reading = asyncio.ensure_future(read_all(guard, items([5.0])))
    await asyncio.sleep(0.05)
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading

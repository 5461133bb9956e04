"""Failures before and after the first byte, saturation, and cancellation, against real engines."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from tests.integration.fleet.conftest import fleet_of, gather_bounded
from tsa.errors import BackendError, BackendUnavailable, FleetSaturated

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HELLO = [{"role": "user", "content": "hello"}]


async def test_streams_fail_over_before_the_first_byte(engines):
    broken = (await engines(1, "--fail-rate", "1.0"))[0]
    healthy = (await engines(1))[0]
    fleet = fleet_of([broken.url, healthy.url], max_attempts=3)
    await fleet.start()
    try:
        for _ in range(6):
            stream = await fleet.open_chat("bench-chat", HELLO, {"num_predict": 3})
            assert stream.instance == healthy.url.removeprefix("http://")
            assert [c async for c in stream.chunks][-1]["done"]
    finally:
        await fleet.aclose()


async def test_a_call_refused_before_it_was_sent_moves_on_without_spending_an_attempt(engines):
    running = await engines(4, "--bench-embed-ms", "5")
    # One attempt and no retry budget: only a transparent retry can carry a call past a dead instance.
    fleet = fleet_of([e.url for e in running], max_attempts=1, retry_budget_ratio=0.0)
    await fleet.start(background=False)
    fleet.retry_budget.tokens = 0.0
    try:
        for engine in running[:3]:
            engine.kill()  # after the probe: the fleet still believes them healthy
        await asyncio.sleep(0.2)  # the probe's kept-alive connections see their close; new ones are refused
        results = await asyncio.gather(*(fleet.embed("bench-embed", ["text"]) for _ in range(12)),
                                       return_exceptions=True)
        assert [r for r in results if isinstance(r, Exception)] == []
        assert {r.instance for r in results} == {running[3].url}
        assert fleet.retries == 0
    finally:
        await fleet.aclose()


async def test_a_stream_whose_instance_dies_mid_answer_is_carried_on_by_another(engines):
    running = await engines(2, "--bench-token-ms", "40")
    fleet = fleet_of([e.url for e in running])
    await fleet.start()
    try:
        stream = await fleet.open_chat("bench-chat", HELLO, {"num_predict": 12})
        received = [await anext(stream.chunks) for _ in range(4)]
        serving = next(e for e in running if e.url.endswith(stream.instance))
        serving.kill()
        received += [c async for c in stream.chunks]
        text = "".join(c["message"]["content"] for c in received)
        assert text == "".join(f"token{n} " for n in range(12))  # one answer, continued where it broke
        assert received[-1]["done"] and received[-1]["eval_count"] == 12
        assert REGISTRY.get_sample_value("tsa_fleet_resumed_streams_total",
                                         {"llm_instance": stream.instance}) == 1
    finally:
        await fleet.aclose()


async def test_a_stream_with_nowhere_to_go_on_ends_with_an_error(engines):
    engine = (await engines(1, "--bench-token-ms", "40"))[0]
    fleet = fleet_of([engine.url])
    await fleet.start()
    try:
        stream = await fleet.open_chat("bench-chat", HELLO, {"num_predict": 12})
        await anext(stream.chunks)
        engine.kill()
        with pytest.raises(BackendUnavailable):
            async for _ in stream.chunks:
                pass
        assert fleet.instances[0].in_flight == 0
    finally:
        await fleet.aclose()


async def test_a_stalled_stream_ends_with_an_error(engines):
    sleepy = (await engines(1, "--bench-token-ms", "2000"))[0]
    fleet = fleet_of([sleepy.url], stream_stall_timeout_s=0.3)
    await fleet.start()
    try:
        stream = await fleet.open_chat("bench-chat", HELLO, {"num_predict": 50})
        with pytest.raises(BackendError, match="stalled"):
            async for _ in stream.chunks:
                pass
    finally:
        await fleet.aclose()


async def test_closing_a_stream_cancels_the_generation_upstream(engines):
    engine = (await engines(1, "--bench-token-ms", "20"))[0]
    fleet = fleet_of([engine.url])
    await fleet.start()
    try:
        stream = await fleet.open_chat("bench-chat", HELLO, {"num_predict": 1000})
        received = [await anext(stream.chunks) for _ in range(3)]
        assert all(not c["done"] for c in received)
        await stream.chunks.aclose()
        await engine.assert_generation_interrupted()
        assert fleet.instances[0].in_flight == 0
    finally:
        await fleet.aclose()


async def test_a_stream_closed_unread_still_frees_its_slot_and_the_upstream_call(engines):
    """A client that leaves before the response body begins never starts the stream's generator."""
    engine = (await engines(1, "--bench-token-ms", "20"))[0]
    fleet = fleet_of([engine.url])
    await fleet.start()
    try:
        stream = await fleet.open_chat("bench-chat", HELLO, {"num_predict": 1000})
        assert fleet.instances[0].in_flight == 1
        await stream.aclose()
        assert fleet.instances[0].in_flight == 0
        await engine.assert_generation_interrupted()
        await stream.aclose()  # settling twice changes nothing
        assert fleet.instances[0].in_flight == 0
    finally:
        await fleet.aclose()


async def test_a_saturated_fleet_refuses_with_retry_after(engines):
    engine = (await engines(1, "--bench-embed-ms", "300"))[0]
    fleet = fleet_of([engine.url], max_concurrency=1, queue_max_waiting=2, queue_timeout_s=5.0)
    await fleet.start()
    try:
        results = await gather_bounded([lambda: fleet.embed("bench-embed", ["x"]) for _ in range(8)], 8)
    finally:
        await fleet.aclose()
    refused = [r for r in results if isinstance(r, FleetSaturated)]
    served = [r for r in results if not isinstance(r, Exception)]
    assert len(served) == 3 and len(refused) == 5  # one in flight, two queued
    assert all(r.retry_after_s >= 1 and r.status == 503 for r in refused)


async def test_interactive_calls_overtake_queued_bulk_work(engines):
    from tsa.fleet import Priority

    engine = (await engines(1, "--bench-embed-ms", "100"))[0]
    fleet = fleet_of([engine.url], max_concurrency=1)
    await fleet.start()
    finished: list[str] = []

    async def call(label: str, priority: Priority) -> None:
        await fleet.embed("bench-embed", [label], priority)
        finished.append(label)

    try:
        bulk = [asyncio.create_task(call(f"bulk{n}", Priority.BULK)) for n in range(4)]
        await asyncio.sleep(0.05)  # the first bulk call holds the only slot; three wait
        assert REGISTRY.get_sample_value("tsa_fleet_queue_depth", {"priority": "bulk"}) == 3
        chat = asyncio.create_task(call("chat", Priority.INTERACTIVE))
        await asyncio.gather(chat, *bulk)
    finally:
        await fleet.aclose()
    assert finished.index("chat") <= 1, finished


async def test_a_stream_that_outlasts_its_deadline_ends_with_an_error_and_frees_its_slot(engines):
    steady = (await engines(1, "--bench-token-ms", "100"))[0]  # never stalls, never hurries
    fleet = fleet_of([steady.url], stream_stall_timeout_s=5.0, stream_deadline_s=0.6)
    await fleet.start()
    try:
        stream = await fleet.open_chat("bench-chat", HELLO, {"num_predict": 50})
        received = 0
        with pytest.raises(BackendError, match="deadline"):
            async for _ in stream.chunks:
                received += 1
        assert 1 < received < 50
        assert fleet.instances[0].in_flight == 0
    finally:
        await fleet.aclose()

"""The fleet against real engine processes: spread, failover, recovery, model presence, slowness."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.fleet.conftest import fleet_of, gather_bounded
from tsa.fleet import State

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EMBED = "bench-embed"


async def _embed_counts(running) -> list[int]:
    return [(await engine.counters()).get("embed_requests", 0) for engine in running]


async def test_uniform_load_reaches_all_eight_and_none_above_twice_fair(engines):
    running = await engines(8, "--bench-embed-ms", "5")
    fleet = fleet_of([e.url for e in running])
    await fleet.start()
    try:
        results = await gather_bounded([lambda: fleet.embed(EMBED, ["text"]) for _ in range(800)], 32)
    finally:
        await fleet.aclose()
    assert not [r for r in results if isinstance(r, Exception)]
    counts = await _embed_counts(running)
    assert sum(counts) == 800
    assert min(counts) > 0 and max(counts) <= 2 * 800 / 8, counts


async def test_three_killed_mid_load_costs_no_request_and_they_return(engines):
    running = await engines(8, "--bench-embed-ms", "10")
    fleet = fleet_of([e.url for e in running], health_interval_s=1.0)
    await fleet.start(background=False)  # health steps are driven below, not by the clock
    done = 0

    async def call():
        nonlocal done
        result = await fleet.embed(EMBED, ["text"])
        done += 1
        return result

    async def kill_three_when_a_third_is_done():
        while done < 200:
            await asyncio.sleep(0.01)
        for engine in running[:3]:
            engine.kill()

    killer = asyncio.create_task(kill_three_when_a_third_is_done())
    results = await gather_bounded([call for _ in range(600)], 16)
    await killer
    try:
        failures = [r for r in results if isinstance(r, Exception)]
        assert failures == [], failures[:3]
        # A victim the load stopped choosing before its third failure is left to the prober, as in service.
        await fleet.prober.run_once()
        victims = [fleet.get(f"127.0.0.1:{e.port}") for e in running[:3]]
        assert all(v.state in (State.EJECTED, State.DOWN) for v in victims), [
            (v.name, v.state, v.total_requests, v.failed_requests, v.last_error) for v in victims]

        for engine in running[:3]:
            await engines.restart(engine)
        # Two health intervals: the fleet's clock is real, so step the prober at interval ticks.
        for _ in range(2):
            await asyncio.sleep(fleet.options.health_interval_s)
            await fleet.prober.run_once()
        assert all(v.state is State.HEALTHY for v in victims)
        before = await _embed_counts(running[:3])
        await gather_bounded([lambda: fleet.embed(EMBED, ["text"]) for _ in range(160)], 16)
        after = await _embed_counts(running[:3])
        assert all(a > b for a, b in zip(after, before, strict=True)), "restarted instances are back in rotation"
    finally:
        await fleet.aclose()


async def test_an_instance_without_the_model_never_gets_calls_for_it(engines):
    full = await engines(2, "--bench-embed-ms", "5")
    lacking = (await engines(1, "--models", "bench-chat"))[0]
    fleet = fleet_of([e.url for e in [*full, lacking]])
    await fleet.start()
    try:
        results = await gather_bounded([lambda: fleet.embed(EMBED, ["text"]) for _ in range(120)], 8)
        assert not [r for r in results if isinstance(r, Exception)]
        assert (await lacking.counters()).get("embed_requests", 0) == 0
        stream = await fleet.open_chat("bench-chat", [{"role": "user", "content": "hi"}], {"num_predict": 2})
        assert [c async for c in stream.chunks][-1]["done"]
    finally:
        await fleet.aclose()


async def test_unknown_model_is_refused_without_calling_anyone(engines):
    running = await engines(2)
    fleet = fleet_of([e.url for e in running])
    await fleet.start()
    try:
        from tsa.errors import UnknownModel

        with pytest.raises(UnknownModel, match="no LLM instance has model 'llama9:latest'"):
            await fleet.embed("llama9", ["x"])
        assert sum(await _embed_counts(running)) == 0
    finally:
        await fleet.aclose()


async def test_a_slowed_instance_receives_clearly_less(engines):
    fast = await engines(3, "--bench-embed-ms", "20")
    slow = (await engines(1, "--bench-embed-ms", "20", "--inject-latency-ms", "60"))[0]
    fleet = fleet_of([e.url for e in [*fast, slow]])
    await fleet.start()
    try:
        await gather_bounded([lambda: fleet.embed(EMBED, ["text"]) for _ in range(400)], 8)
    finally:
        await fleet.aclose()
    counts = await _embed_counts([*fast, slow])
    fair = sum(counts) / 4
    assert counts[-1] < 0.5 * fair, counts


async def test_openai_compatible_instances_serve_next_to_ollama_ones(engines):
    from tsa.fleet import Fleet, FleetOptions, InstanceConfig

    ollama_api, openai_api = await engines(2, "--bench-embed-ms", "5")
    fleet = Fleet([InstanceConfig(ollama_api.url), InstanceConfig(openai_api.url, api="openai")], FleetOptions())
    await fleet.start()
    try:
        openai_instance = fleet.instances[1]
        assert openai_instance.state is State.HEALTHY
        assert "bench-chat:latest" in openai_instance.models_loaded  # such servers keep models loaded
        results = await gather_bounded([lambda: fleet.embed(EMBED, ["a", "b"]) for _ in range(60)], 8)
        assert all(len(r.embeddings) == 2 for r in results)
        for _ in range(6):
            stream = await fleet.open_chat("bench-chat", [{"role": "user", "content": "hi"}], {"num_predict": 3})
            chunks = [c async for c in stream.chunks]
            assert "".join(c["message"]["content"] for c in chunks) == "token0 token1 token2 "
            assert chunks[-1]["done"] and chunks[-1]["eval_count"] == 3
    finally:
        await fleet.aclose()
    assert (await openai_api.counters()).get("embed_requests", 0) == 0, "it was reached only through /v1"
    assert openai_instance.successful_requests > 0 and fleet.instances[0].successful_requests > 0

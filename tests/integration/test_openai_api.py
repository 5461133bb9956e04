"""The fleet behind OpenAI's API, driven by the official ``openai`` client, unmodified."""

from __future__ import annotations

import asyncio
import math

import httpx
import ollama
import openai
import pytest
from prometheus_client import REGISTRY

from tests.integration.conftest import new_user

pytestmark = pytest.mark.integration


@pytest.fixture
async def served(bench_settings, service_for):
    async with service_for(bench_settings) as (_, api):
        key = api.headers["authorization"].removeprefix("Bearer ")
        async with openai.AsyncOpenAI(base_url=f"{api.base_url}/v1", api_key=key, max_retries=0) as client:
            yield client, api


async def test_chat_completion_whole_and_streamed_with_usage(served):
    client, _ = served
    whole = await client.chat.completions.create(model="bench-chat", max_tokens=5,
                                                 messages=[{"role": "user", "content": "Name a colour."}])
    assert whole.choices[0].message.content and whole.choices[0].finish_reason == "length"
    assert whole.usage.completion_tokens == 5 and whole.usage.total_tokens > 5

    chunks = [c async for c in await client.chat.completions.create(
        model="bench-chat", max_completion_tokens=4, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": [{"type": "text", "text": "Name a colour."}]}])]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert len({c.id for c in chunks}) == 1


async def test_each_call_is_counted_by_api_endpoint_and_model_with_its_tokens(served):
    client, api = served
    ollama_client = ollama.AsyncClient(host=str(api.base_url), headers={"Authorization": api.headers["authorization"]})

    async def calls() -> None:
        await client.chat.completions.create(model="bench-chat", max_tokens=3, messages=[{"role": "user", "content": "Hi"}])
        async for _ in await client.chat.completions.create(model="bench-chat", max_tokens=3, stream=True,
                                                            messages=[{"role": "user", "content": "Hi"}]):
            pass
        await client.completions.create(model="bench-chat", prompt="Once", max_tokens=3)
        await ollama_client.chat(model="bench-chat", messages=[{"role": "user", "content": "Hi"}],
                                 options={"num_predict": 3})

    def counted() -> dict[str, float]:  # the service runs in this process: its registry is this one
        requests = {"model": "bench-chat", "outcome": "ok"}
        return {name: REGISTRY.get_sample_value(metric, labels) or 0.0 for name, metric, labels in (
            ("openai chat", "tsa_gateway_requests_total", {"api": "openai", "endpoint": "chat_completions", **requests}),
            ("openai text", "tsa_gateway_requests_total", {"api": "openai", "endpoint": "completions", **requests}),
            ("ollama chat", "tsa_gateway_requests_total", {"api": "ollama", "endpoint": "chat", **requests}),
            ("openai tokens out", "tsa_gateway_tokens_total", {"api": "openai", "model": "bench-chat",
                                                               "direction": "out"}))}

    before = counted()
    await calls()
    after = counted()
    assert {name: after[name] - before[name] for name in after} == {
        "openai chat": 2, "openai text": 1, "ollama chat": 1, "openai tokens out": 9}
    await ollama_client.close()


async def test_text_completion(served):
    client, _ = served
    done = await client.completions.create(model="bench-chat", prompt="Once upon a time", max_tokens=3)
    assert done.choices[0].text and done.choices[0].finish_reason == "length" and done.usage.completion_tokens == 3


async def test_embeddings_as_floats_and_as_base64_agree(served):
    client, _ = served
    floats = await client.embeddings.create(model="bench-embed", input=["seal", "impeller"], encoding_format="float")
    packed = await client.embeddings.create(model="bench-embed", input=["seal", "impeller"])  # base64 by default
    assert [d.index for d in floats.data] == [0, 1]
    for a, b in zip(floats.data, packed.data, strict=True):
        assert len(a.embedding) == len(b.embedding)
        assert all(math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-7) for x, y in zip(a.embedding, b.embedding, strict=True))


async def test_models_and_errors_in_openais_shape(served):
    client, api = served
    assert {"bench-chat:latest", "bench-embed:latest"} <= {m.id async for m in client.models.list()}
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(model="nope:1b", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 404 and caught.value.code == "model_not_found"
    bad = await api.post("/v1/chat/completions", json={"model": "bench-chat", "messages": []})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    async with httpx.AsyncClient(base_url=str(api.base_url)) as anonymous:
        assert (await anonymous.get("/v1/models")).status_code == 401


async def test_a_stream_the_client_cuts_cancels_the_generation_upstream(settings, engines, service_for):
    slow = (await engines(1, "--bench-token-ms", "50"))[0]
    settings.ollama_instances = [slow.url]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    async with service_for(settings) as (container, api):
        async with api.stream("POST", "/v1/chat/completions", json={
                "model": "bench-chat", "stream": True, "max_tokens": 500,
                "messages": [{"role": "user", "content": "Count."}]}) as streamed:
            lines = streamed.aiter_lines()
            assert (await anext(lines)).startswith("data: ")
        # The client is gone after one event; 500 tokens would take 25 s.
        await slow.assert_generation_interrupted(10)
        assert container.fleet.instances[0].in_flight == 0


async def test_an_instance_dead_before_the_first_token_fails_over(settings, engines, service_for):
    pair = await engines(2, "--bench-token-ms", "1")
    settings.ollama_instances = [e.url for e in pair]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    async with service_for(settings) as (_, api):
        await asyncio.to_thread(pair[0].kill)
        key = api.headers["authorization"].removeprefix("Bearer ")
        async with openai.AsyncOpenAI(base_url=f"{api.base_url}/v1", api_key=key, max_retries=0) as client:
            for _ in range(4):  # whichever instance is chosen first, every call is answered
                reply = await client.chat.completions.create(model="bench-chat", max_tokens=2,
                                                             messages=[{"role": "user", "content": "hi"}])
                assert reply.choices[0].message.content


async def test_a_keys_rate_limit_holds_across_both_apis(bench_settings, service_for):
    """One key's budget, whichever API spends it: the third call is a 429 with Retry-After, which the
    official clients surface as their own rate-limit errors."""
    bench_settings.rate_limit_burst, bench_settings.rate_limit_key_per_minute = 2, 1
    async with service_for(bench_settings) as (container, api):
        user = await new_user(container, "viewer")
        key = user["headers"]["Authorization"].removeprefix("Bearer ")
        openai_client = openai.AsyncOpenAI(base_url=f"{api.base_url}/v1", api_key=key, max_retries=0)
        ollama_client = ollama.AsyncClient(host=str(api.base_url), headers=user["headers"])
        async with openai_client:
            await openai_client.chat.completions.create(
                model="bench-chat", max_tokens=1, messages=[{"role": "user", "content": "hi"}])
            await ollama_client.chat(model="bench-chat", messages=[{"role": "user", "content": "hi"}],
                                     options={"num_predict": 1})
            with pytest.raises(openai.RateLimitError) as limited:
                await openai_client.chat.completions.create(
                    model="bench-chat", max_tokens=1, messages=[{"role": "user", "content": "hi"}])
            assert 1 <= int(limited.value.response.headers["retry-after"]) <= 60
            with pytest.raises(ollama.ResponseError) as also_limited:
                await ollama_client.chat(model="bench-chat", messages=[{"role": "user", "content": "hi"}])
            assert also_limited.value.status_code == 429
        await ollama_client.close()

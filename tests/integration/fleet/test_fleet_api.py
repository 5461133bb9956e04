"""Fleet endpoints over HTTP: statistics, admin changes at runtime, saturation as 503 + Retry-After."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _bench(settings, urls: list[str], **overrides):
    settings.ollama_instances = urls
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


async def test_stats_report_every_instance_with_numbers(settings, api_for, engines):
    running = await engines(2, "--bench-embed-ms", "5")
    async with api_for(_bench(settings, [e.url for e in running])) as api:
        for _ in range(10):  # no-cache: each search must reach the fleet
            assert (await api.post("/api/search", json={"query": "seal", "cache": "no-cache"})).status_code == 200
        body = (await api.get("/api/load-balancer-stats")).json()
    assert body["overall"]["total_instances"] == 2 and body["overall"]["healthy_instances"] == 2
    assert body["overall"]["successful_requests"] >= 10
    for instance in body["instances"]:
        assert instance["healthy"] is True and instance["state"] == "healthy"
        assert {"bench-embed:latest", "bench-chat:latest"} <= set(instance["models_available"])
        for key in ("in_flight", "total_requests", "successful_requests", "failed_requests", "load_score"):
            assert isinstance(instance[key], int | float)
    served = [i for i in body["instances"] if i["total_requests"]]
    assert served and all(isinstance(i["p95_latency_ms"], float) for i in served)


async def test_admin_adds_drains_and_removes_instances(settings, api_for, engines):
    first, second = await engines(2, "--bench-embed-ms", "5")
    async with api_for(_bench(settings, [first.url], admin_token="s3cret")) as api:
        denied = await api.post("/api/fleet/instances", json={"url": second.url})
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "unauthorized"
        admin = {"Authorization": "Bearer s3cret"}
        added = await api.post("/api/fleet/instances", json={"url": second.url, "name": "second"}, headers=admin)
        assert added.status_code == 201 and added.json()["state"] == "healthy"
        again = await api.post("/api/fleet/instances", json={"url": second.url, "name": "second"}, headers=admin)
        assert again.status_code == 409
        drained = await api.post("/api/fleet/instances/second/drain", headers=admin)
        assert drained.json()["state"] == "draining"
        before = (await second.counters()).get("embed_requests", 0)
        for _ in range(20):
            assert (await api.post("/api/search", json={"query": "seal", "cache": "no-cache"})).status_code == 200
        assert (await second.counters()).get("embed_requests", 0) == before, "a drained instance gets nothing"
        removed = await api.delete("/api/fleet/instances/second", headers=admin)
        assert removed.status_code == 202
        for _ in range(50):
            names = [i["name"] for i in (await api.get("/api/load-balancer-stats")).json()["instances"]]
            if "second" not in names:
                break
            await asyncio.sleep(0.05)
        assert names == [f"127.0.0.1:{first.port}"]
        missing = await api.post("/api/fleet/instances/nope/drain", headers=admin)
        assert missing.status_code == 404


async def test_saturated_fleet_answers_503_with_retry_after(settings, api_for, engines):
    engine = (await engines(1, "--bench-embed-ms", "400"))[0]
    async with api_for(_bench(settings, [engine.url], instance_max_concurrency=1, queue_max_waiting=1)) as api:
        responses = await asyncio.gather(*(api.post("/api/search", json={"query": f"q{n}", "cache": "no-cache"})
                                           for n in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 2 and statuses.count(503) == 4, statuses
    refused = [r for r in responses if r.status_code == 503]
    assert all(r.json()["error"]["code"] == "fleet_saturated" and int(r.headers["retry-after"]) >= 1
               for r in refused)


async def test_ollama_clients_can_use_tsa_as_a_balanced_ollama(settings, api_for, engines):
    import ollama

    running = await engines(2, "--bench-embed-ms", "2")
    async with api_for(_bench(settings, [e.url for e in running])) as api:
        client = ollama.AsyncClient(host=str(api.base_url))
        try:
            names = {m.model for m in (await client.list()).models}
            assert {"bench-embed:latest", "bench-chat:latest"} <= names
            answers = await asyncio.gather(*(client.embed(model="bench-embed", input=["a", "b"]) for _ in range(40)))
            assert all(len(a.embeddings) == 2 for a in answers)
            parts = [p async for p in await client.chat(model="bench-chat", stream=True, options={"num_predict": 4},
                                                         messages=[{"role": "user", "content": "hi"}])]
            assert parts[-1].done and "".join(p.message.content for p in parts) == "token0 token1 token2 token3 "
            whole = await client.chat(model="bench-chat", messages=[{"role": "user", "content": "hi"}],
                                      options={"num_predict": 2})
            assert whole.message.content == "token0 token1 "
            with pytest.raises(ollama.ResponseError) as caught:
                await client.embed(model="llama9", input="x")
            assert caught.value.status_code == 404 and "no LLM instance has model" in caught.value.error
        finally:
            await client.close()
    counts = [(await e.counters()).get("embed_requests", 0) for e in running]
    assert all(c > 0 for c in counts), counts

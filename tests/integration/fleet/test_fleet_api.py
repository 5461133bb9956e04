"""Fleet endpoints over HTTP: statistics, admin changes at runtime, saturation as 503 + Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.conftest import client_as, new_user

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


async def test_admin_adds_drains_and_removes_instances(settings, service_for, engines):
    first, second = await engines(2, "--bench-embed-ms", "5")
    async with service_for(_bench(settings, [first.url])) as (container, api):
        viewer = (await new_user(container, "viewer"))["headers"]
        async with client_as(api, viewer) as as_viewer, client_as(api, {}) as anonymous:
            for client, status in ((anonymous, 401), (as_viewer, 403)):
                denied = [await client.post("/api/fleet/instances", json={"url": second.url}),
                          await client.post(f"/api/fleet/instances/127.0.0.1:{first.port}/drain"),
                          await client.delete(f"/api/fleet/instances/127.0.0.1:{first.port}")]
                assert [r.status_code for r in denied] == [status] * 3
            assert all("url" not in i for i in (await as_viewer.get("/api/load-balancer-stats")).json()["instances"])
        assert container.fleet.instances[0].state.value == "healthy", "refused calls changed nothing"
        admin = {}
        added = await api.post("/api/fleet/instances", json={"url": second.url, "name": "second"}, headers=admin)
        assert added.status_code == 201 and added.json()["state"] == "healthy"
        again = await api.post("/api/fleet/instances", json={"url": second.url, "name": "second"}, headers=admin)
        assert again.status_code == 409
        same_url = await api.post("/api/fleet/instances", json={"url": second.url, "name": "other"})
        assert same_url.status_code == 409 and "already in the fleet" in same_url.json()["error"]["message"]
        for bad_name in ("a/b", "tab\tname"):
            refused = await api.post("/api/fleet/instances", json={"url": second.url, "name": bad_name})
            assert refused.status_code == 422, bad_name
        drained = await api.post("/api/fleet/instances/second/drain", headers=admin)
        assert drained.json()["state"] == "draining"
        undrained = await api.post("/api/fleet/instances/second/undrain")
        assert undrained.status_code == 200 and undrained.json()["state"] in ("unknown", "healthy")
        await api.post("/api/fleet/instances/second/drain")
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
        # Ollama clients send the key as a header like any other client.
        client = ollama.AsyncClient(host=str(api.base_url), headers={"Authorization": api.headers["authorization"]})
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

"""A dead LLM instance: failover when another answers, a clear 503 when none does; the same for the
database."""

from __future__ import annotations

import pytest

from tsa.container import open_container
from tsa.runtime.children import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_a_dead_instance_is_skipped(settings, sample_pdf):
    dead = f"http://127.0.0.1:{free_port()}"
    settings.ollama_instances = [dead, *settings.ollama_instances]
    async with open_container(settings) as container:
        for _ in range(3):
            info = await container.pipeline.ingest("manual.pdf", sample_pdf)
        assert info.status == "ready"
        dead_instance = next(i for i in container.fleet.instances if i.url == dead)
        # The start-up probe already found it down, so no call was wasted on it.
        assert dead_instance.state == "down" and dead_instance.total_requests == 0


async def test_no_instance_means_503_and_not_ready(settings, api_for):
    async with open_container(settings):
        pass  # sizes the vector column with the live engine
    settings.ollama_instances = [f"http://127.0.0.1:{free_port()}"]
    async with api_for(settings) as api:
        # no-cache: the query's embedding may be cached from another test, and would answer.
        response = await api.post("/api/search", json={"query": "seal", "cache": "no-cache"})
        assert response.status_code == 503 and response.json()["error"]["code"] == "backend_unavailable"
        assert int(response.headers["retry-after"]) >= 1
        ready = await api.get("/ready")
        assert ready.status_code == 503 and not ready.json()["checks"]["llm"]["ok"]
        assert ready.json()["checks"]["postgres"]["ok"] and ready.json()["checks"]["redis"]["ok"]
        health = await api.get("/health")
        assert health.status_code == 200


async def test_an_unreachable_database_is_a_503_with_retry_after_never_a_500(service_for, settings):
    async with service_for(settings) as (container, api):
        assert (await api.get("/api/documents")).status_code == 200
        await container.pool.close()  # as when PostgreSQL goes away: every query fails to get a connection
        for method, path, body in (("GET", "/api/documents", None), ("POST", "/api/search", {"query": "seal"}),
                                   ("POST", "/api/rag-chat", {"query": "seal"})):
            response = await api.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["error"]["code"] == "database_unavailable"
            assert response.headers["retry-after"] == "2"

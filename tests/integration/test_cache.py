"""The three cache layers against a real Redis, with real engines (benchmark models) behind the fleet."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.integration.conftest import (client_as, eventually_metric, metric_value, new_user, sse_events,
                                       wait_until_processed)
from tsa.container import open_container
from tsa.rag import Question
from tsa.rag.grounding import UNSUPPORTED_MARK
from tsa.runtime.children import stop
from tsa.runtime.redis_server import start_embedded_redis

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MANUAL = b"""# Compressor CX-9

## Oil change

Use CXO-32 compressor oil. Change the oil of the compressor every 1000 hours.
"""


async def _upload(api, name: str, content: bytes) -> None:
    response = await api.post("/api/documents", files={"file": (name, content)})
    assert (await wait_until_processed(api, response.json()["document_id"]))["status"] == "ready"


def _question(text: str | None = None, **extra) -> dict:
    return {"query": text or f"Which oil does the compressor need? {uuid.uuid4().hex[:6]}", "max_tokens": 8, **extra}


async def test_a_repeat_question_is_served_from_the_inference_cache(bench_settings, bench_engine, api_for):
    async with api_for(bench_settings) as api:
        await _upload(api, "cx9.md", MANUAL)
        question = _question()
        first = (await api.post("/api/rag-chat", json=question)).json()
        generations = (await bench_engine.counters())["generations_started"]
        second = (await api.post("/api/rag-chat", json=question)).json()
        assert first["cached"] == {"embedding": False, "chunks": False, "inference": False}
        assert second["cached"] == {"embedding": True, "chunks": True, "inference": True}
        assert second["answer"] == first["answer"] and second["sources"] == first["sources"]
        assert (await bench_engine.counters())["generations_started"] == generations
        stats = (await api.get("/api/advanced-cache-stats")).json()["layers"]["inference"]
        assert stats["hits"] >= 1 and stats["entries_written"] >= 1 and isinstance(stats["hit_rate"], float)


async def test_twenty_identical_concurrent_questions_cost_one_chat_call(bench_settings, bench_engine, api_for):
    async with api_for(bench_settings) as api:
        await _upload(api, "cx9.md", MANUAL)
        before = (await bench_engine.counters()).get("generations_started", 0)
        question = _question(max_tokens=16)
        answers = await asyncio.gather(*(api.post("/api/rag-chat", json=question) for _ in range(20)))
        after = (await bench_engine.counters())["generations_started"]
    bodies = [a.json() for a in answers]
    assert after - before == 1
    assert len({b["answer"] for b in bodies}) == 1
    assert sum(not b["cached"]["inference"] for b in bodies) == 1


async def test_a_changed_document_is_never_answered_from_before_the_change(bench_settings, api_for):
    async with api_for(bench_settings) as api:
        await _upload(api, "cx9.md", MANUAL)
        question = _question("Which oil does the compressor need?")
        old = (await api.post("/api/rag-chat", json=question)).json()
        assert "CXO-32" in old["sources"][0]["snippet"]
        await _upload(api, "cx9.md", MANUAL.replace(b"CXO-32", b"CXO-46"))
        new = (await api.post("/api/rag-chat", json=question)).json()
        search = (await api.post("/api/search", json={"query": question["query"]})).json()
    assert new["cached"]["inference"] is False and new["cached"]["chunks"] is False
    assert "CXO-46" in new["sources"][0]["snippet"] and "CXO-46" in search["results"][0]["text"]
    assert new["cached"]["embedding"] is True, "embeddings depend only on model and text: still valid"


# Eight sections on compressor oil: the question's five passages all come from here, whatever
# unrelated manual arrives later.
SERVICE_BOOK = "# Compressor CX-9 service book\n\n" + "".join(
    f"## Oil, step {n}\n\nCompressor oil step {n}: the compressor needs CXO-32 oil; "
    + "check the compressor oil level and the oil filter of the compressor before each shift. " * 8 + "\n\n"
    for n in range(1, 9))
UNRELATED = b"# Forklift FL-2\n\n## Tyres\n\nInflate the forklift tyres to 6 bar every week.\n"


async def test_an_answer_outlives_corpus_changes_that_leave_its_passages_be(bench_settings, bench_engine, api_for):
    async with api_for(bench_settings) as api:
        await _upload(api, "cx9-book.md", SERVICE_BOOK.encode())
        question = _question("Which oil does the compressor need?")
        first = (await api.post("/api/rag-chat", json=question)).json()
        kept = await metric_value(api, "tsa_answer_revalidations_total", outcome="same")
        generations = (await bench_engine.counters())["generations_started"]

        await _upload(api, "fl2.md", UNRELATED)  # the corpus changed, but not what the answer rests on
        again = (await api.post("/api/rag-chat", json=question)).json()
        assert again["cached"]["inference"] is True and again["answer"] == first["answer"]
        assert [s["chunk_id"] for s in again["sources"]] == [s["chunk_id"] for s in first["sources"]]
        assert await metric_value(api, "tsa_answer_revalidations_total", outcome="same") == kept + 1
        thrice = (await api.post("/api/rag-chat", json=question)).json()  # stored again under the new generation
        assert thrice["cached"]["inference"] is True
        assert await metric_value(api, "tsa_answer_revalidations_total", outcome="same") == kept + 1
        assert (await bench_engine.counters())["generations_started"] == generations

        changed = await metric_value(api, "tsa_answer_revalidations_total", outcome="changed")
        cited = first["sources"][0]["document_id"]
        assert (await api.delete(f"/api/documents/{cited}")).status_code == 204
        after = (await api.post("/api/rag-chat", json=question)).json()
        assert after["cached"]["inference"] is False
        assert cited not in {s["document_id"] for s in after["sources"]}
        assert await metric_value(api, "tsa_answer_revalidations_total", outcome="changed") == changed + 1


async def test_a_burst_of_one_question_after_a_corpus_change_revalidates_once(bench_settings, service_for,
                                                                             monkeypatch):
    async with service_for(bench_settings) as (container, api):
        await _upload(api, "cx9-book.md", SERVICE_BOOK.encode())
        question = _question("Which oil does the compressor need?")
        first = (await api.post("/api/rag-chat", json=question)).json()
        await _upload(api, "fl2.md", UNRELATED)
        kept = await metric_value(api, "tsa_answer_revalidations_total", outcome="same")
        retrieve = container.rag.retrieve

        async def slow_retrieve(*args, **kwargs):  # the burst surely arrives while the first one checks
            await asyncio.sleep(0.3)
            return await retrieve(*args, **kwargs)

        monkeypatch.setattr(container.rag, "retrieve", slow_retrieve)
        burst = await asyncio.gather(*(api.post("/api/rag-chat", json=question) for _ in range(6)))
        assert {r.json()["answer"] for r in burst} == {first["answer"]}
        assert all(r.json()["cached"]["inference"] is True for r in burst)
        assert await metric_value(api, "tsa_answer_revalidations_total", outcome="same") == kept + 1


async def test_model_temperature_and_max_tokens_are_part_of_the_key(bench_settings, api_for):
    async with api_for(bench_settings) as api:
        await _upload(api, "cx9.md", MANUAL)
        base = _question()
        await api.post("/api/rag-chat", json=base)
        for change in ({"temperature": 0.7}, {"max_tokens": 9}, {"max_context_chunks": 4}):
            body = (await api.post("/api/rag-chat", json={**base, **change})).json()
            assert body["cached"]["inference"] is False, change
        unknown = await api.post("/api/rag-chat", json={**base, "model": "llama9:999b"})
        assert unknown.status_code == 404, "another model is another key, not the cached answer"
        assert (await api.post("/api/rag-chat", json=base)).json()["cached"]["inference"] is True


async def test_no_cache_neither_reads_nor_writes(bench_settings, api_for):
    async with api_for(bench_settings) as api:
        await _upload(api, "cx9.md", MANUAL)
        question = _question(cache="no-cache")
        for _ in range(2):
            body = (await api.post("/api/rag-chat", json=question)).json()
            assert body["cached"] == {"embedding": False, "chunks": False, "inference": False}
        body = (await api.post("/api/rag-chat", json={**question, "cache": "default"})).json()
        assert body["cached"]["inference"] is False


async def test_a_cached_answer_still_streams(bench_settings, api_for):
    async with api_for(bench_settings) as api:
        await _upload(api, "cx9.md", MANUAL)
        question = _question()
        plain = (await api.post("/api/rag-chat", json=question)).json()
        events = await sse_events(api, "POST", "/api/rag-chat", json={**question, "stream": True})
    assert [n for n, _ in events] == ["sources", "token", "done"]
    assert events[2][1]["answer"] == plain["answer"] and events[2][1]["cached"]["inference"] is True
    # Tokens go out as the model wrote them; the final answer marks what its passages do not back.
    assert events[1][1]["text"] == plain["answer"].replace(UNSUPPORTED_MARK, "")


async def test_failed_or_abandoned_generations_are_not_cached(settings, api_for, engines, tmp_path):
    broken = (await engines(1, "--fail-rate", "1.0"))[0]
    healthy = (await engines(1, "--bench-token-ms", "50"))[0]
    settings.embedding_model, settings.chat_model, settings.min_similarity = "bench-embed", "bench-chat", -1.0
    settings.ollama_instances = [healthy.url]
    async with api_for(settings) as api:
        await _upload(api, "cx9.md", MANUAL)
        question = _question(max_tokens=200)
        async with api.stream("POST", "/api/rag-chat", json={**question, "stream": True}) as response:
            async for line in response.aiter_lines():
                if line == "event: token":
                    break  # leave mid-answer
        again = (await api.post("/api/rag-chat", json={**question, "max_tokens": 200})).json()
        assert again["cached"]["inference"] is False, "an abandoned answer is not cached"
    # Embeddings work, every generation fails.
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(f"instances:\n  - {{url: '{healthy.url}', labels: [embed]}}\n"
                          f"  - {{url: '{broken.url}', labels: [chat]}}\n")
    settings.ollama_instances, settings.fleet_file, settings.max_attempts = [], fleet_file, 1
    async with api_for(settings) as api:
        question = _question()
        before = (await api.get("/api/advanced-cache-stats")).json()["layers"]["inference"]
        for _ in range(2):
            assert (await api.post("/api/rag-chat", json=question)).status_code == 502
        after = (await api.get("/api/advanced-cache-stats")).json()["layers"]["inference"]
    # Statistics are shared by everything using this Redis: compare, don't assume zero.
    assert after["misses"] - before["misses"] == 2 and after["hits"] == before["hits"]
    assert after["entries_written"] == before["entries_written"]


async def test_redis_going_away_costs_the_cache_not_the_answers(bench_settings, api_for, tmp_path):
    redis_url, redis_process = await asyncio.to_thread(start_embedded_redis, tmp_path / "redis")
    bench_settings.redis_url, bench_settings.health_interval_s = redis_url, 0.2
    try:
        async with api_for(bench_settings) as api:
            await eventually_metric(api, 1, "tsa_dependency_up", dependency="redis")
            await _upload(api, "cx9.md", MANUAL)
            question = _question()
            await api.post("/api/rag-chat", json=question)
            assert (await api.post("/api/rag-chat", json=question)).json()["cached"]["inference"] is True
            errors = await metric_value(api, "tsa_cache_events_total", layer="inference", event="error")
            stop(redis_process)
            for _ in range(3):
                body = (await api.post("/api/rag-chat", json=_question())).json()
                assert body["answer"] and body["cached"]["inference"] is False
            stats = (await api.get("/api/advanced-cache-stats")).json()
            assert stats["redis_available"] is False and stats["layers"]["inference"]["bypassed_this_replica"] > 0
            assert await metric_value(api, "tsa_cache_events_total", layer="inference", event="error") > errors
            await eventually_metric(api, 0, "tsa_dependency_up", dependency="redis")
            assert await metric_value(api, "tsa_dependency_up", dependency="postgres") == 1
            redis_url, redis_process = await asyncio.to_thread(start_embedded_redis, tmp_path / "redis")
            await asyncio.sleep(1.1)  # the breaker retries Redis after a second
            fresh = _question()
            await api.post("/api/rag-chat", json=fresh)
            assert (await api.post("/api/rag-chat", json=fresh)).json()["cached"]["inference"] is True
            await eventually_metric(api, 1, "tsa_dependency_up", dependency="redis")
    finally:
        stop(redis_process)


async def test_stats_reset_is_for_admins(bench_settings, service_for):
    async with service_for(bench_settings) as (container, api):
        viewer = (await new_user(container, "viewer"))["headers"]
        async with client_as(api, viewer) as as_viewer, client_as(api, {}) as anonymous:
            assert (await anonymous.post("/api/advanced-cache-stats/reset")).status_code == 401
            assert (await as_viewer.post("/api/advanced-cache-stats/reset")).status_code == 403
            assert (await as_viewer.get("/api/advanced-cache-stats")).status_code == 200
        reset = await api.post("/api/advanced-cache-stats/reset")
        assert reset.status_code == 200
        assert all(layer["hits"] == 0 and layer["misses"] == 0 for layer in reset.json()["layers"].values())


async def test_identical_questions_on_two_replicas_cost_one_chat_call(bench_settings, bench_engine, api_for):
    async with api_for(bench_settings) as first, api_for(bench_settings) as second:
        await _upload(first, "cx9.md", MANUAL)
        before = (await bench_engine.counters()).get("generations_started", 0)
        question = _question(max_tokens=16)
        answers = await asyncio.gather(*(api.post("/api/rag-chat", json=question)
                                         for api in [first, second] * 6))
        after = (await bench_engine.counters())["generations_started"]
    assert after - before == 1, "the replica without the Redis lock waits for the other's answer"
    assert len({a.json()["answer"] for a in answers}) == 1


async def test_an_answer_abandoned_before_reading_releases_identical_questions(bench_settings, bench_engine):
    """The client left before the body began: the waiting identical question must not hang."""
    async with open_container(bench_settings) as container:
        await container.pipeline.ingest("cx9.md", MANUAL)
        question = Question(_question()["query"], await container.access.collections.all_ids(), max_tokens=8)
        leader = await container.rag.ask(question)
        follower = asyncio.create_task(container.rag.ask(question))
        await asyncio.sleep(0.2)
        assert not follower.done()  # waiting for the leader's answer
        await leader.abandon()
        second = await asyncio.wait_for(follower, 10)  # computes it itself
        assert second.cached["inference"] is False
        async for _ in second.pieces():
            pass
        assert second.text and container.fleet.instances[0].in_flight == 0

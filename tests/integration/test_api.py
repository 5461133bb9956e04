"""The HTTP API over a real socket, backed by real PostgreSQL, Redis and engine."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.conftest import eventually_metric, metric_value, wait_until_processed
from tsa.rag import NO_CONTEXT_ANSWER

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
async def manual(api, sample_pdf) -> dict:
    response = await api.post("/api/documents", files={"file": ("hf22-service-manual.pdf", sample_pdf,
                                                                "application/pdf")})
    assert response.status_code == 202 and response.json()["status"] == "processing"
    assert response.headers["location"] == f"/api/documents/{response.json()['document_id']}"
    document = await wait_until_processed(api, response.json()["document_id"])
    assert document["status"] == "ready", document
    return document


async def test_upload_list_show_and_delete(api, manual, sample_pdf):
    listed = (await api.get("/api/documents")).json()["documents"]
    assert [d["id"] for d in listed] == [manual["id"]]
    assert manual["page_count"] == 7 and isinstance(manual["chunk_count"], int)
    again = await api.post("/api/documents", files={"file": ("again.pdf", sample_pdf)})
    assert again.status_code == 200 and again.json() == {"document_id": manual["id"], "status": "ready",
                                                         "duplicate": True}
    assert (await api.delete(f"/api/documents/{manual['id']}")).status_code == 204
    missing = await api.get(f"/api/documents/{manual['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await api.post("/api/search", json={"query": "seal", "k": 3})).json()["results"] == []


async def test_failed_upload_reports_the_reason(api):
    response = await api.post("/api/documents", files={"file": ("broken.pdf", b"%PDF-1.4 nothing useful")})
    assert response.status_code == 202
    document = await wait_until_processed(api, response.json()["document_id"])
    assert document["status"] == "failed" and "could not be read" in document["error"]


@pytest.mark.parametrize(("files", "status", "code"), [
    ({"file": ("tool.exe", b"MZ\x90\x00")}, 415, "unsupported_document"),
    ({"file": ("empty.md", b"")}, 422, "invalid_document"),
    ({"other": ("x.md", b"# hi")}, 422, "invalid_request"),
])
async def test_bad_uploads_get_clear_errors(api, files, status, code):
    response = await api.post("/api/documents", files=files)
    assert response.status_code == status and response.json()["error"]["code"] == code


@pytest.mark.parametrize("size", [4096, 256 * 1024])  # just over (read and counted), far over (by its header)
async def test_oversize_upload_is_413(api, container, size):
    container.settings.max_upload_bytes = 2048
    response = await api.post("/api/documents", files={"file": ("big.txt", b"a" * size)})
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    assert (await api.get("/api/documents")).json()["documents"] == []


async def test_search_returns_ranked_chunks_with_document_page_and_score(api, manual):
    body = (await api.post("/api/search", json={"query": "E-17 low inlet pressure", "k": 4})).json()
    results = body["results"]
    assert 1 <= len(results) <= 4
    top = results[0]
    assert top["document_id"] == manual["id"] and top["title"] == manual["title"]
    assert top["page"] in (4, 6) and "E-17" in top["text"] and "identifier" in top["matched_by"]
    assert all(isinstance(r["score"], float) for r in results)
    assert isinstance(body["timings_ms"]["embed_ms"], float)


async def test_rag_chat_answers_with_the_page_that_holds_the_answer(api, manual):
    response = await api.post("/api/rag-chat", json={
        "query": "What torque do the casing bolts need?", "max_tokens": 48, "temperature": 0})
    assert response.status_code == 200
    body = response.json()
    assert body["answer"].strip() and body["model"] == "smollm2:135m" and ":" in body["instance"] and "//" not in body["instance"]
    assert body["cached"] == {"embedding": False, "chunks": False, "inference": False}
    assert any(s["page"] == 2 and "25 N·m" in s["snippet"] for s in body["sources"])
    assert all(s["hazard"] in (None, "DANGER", "WARNING", "CAUTION") for s in body["sources"])
    assert {"embed_ms", "retrieve_ms", "first_token_ms", "generate_ms", "total_ms"} <= body["timings_ms"].keys()


async def test_nothing_relevant_means_no_invented_sources(api, manual):
    body = (await api.post("/api/rag-chat", json={"query": "Who won the football world cup in 1954?"})).json()
    assert body["sources"] == [] and body["answer"] == NO_CONTEXT_ANSWER and body["instance"] is None
    assert body["covered"] is False  # the web app says "not in the manuals" plainly


async def _sse(response: httpx.Response):
    event = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])


async def test_stream_sends_sources_tokens_then_done(api, manual):
    events = []
    async with api.stream("POST", "/api/rag-chat", json={
            "query": "How do I replace the mechanical seal?", "stream": True, "max_tokens": 40}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        async for event in _sse(response):
            events.append(event)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and set(names[1:-1]) == {"token"}
    assert any(s["page"] == 5 for s in events[0][1]["sources"])
    done = events[-1][1]
    assert done["answer"] == "".join(data["text"] for name, data in events if name == "token")
    assert done["sources"] == events[0][1]["sources"]


async def test_first_token_arrives_while_the_model_is_still_generating(api, manual):
    """Causal proof of streaming: leaving after the first token cancels a generation still running.

    Were the answer produced in full before sending, the disconnect would find nothing to cancel.
    """
    before = await metric_value(api, "tsa_rag_answers_total", outcome="cancelled")
    async with api.stream("POST", "/api/rag-chat", json={
            "query": "Describe every step of replacing the mechanical seal in detail.", "stream": True,
            "max_tokens": 1024, "temperature": 0.8}) as response:
        async for name, _ in _sse(response):
            if name == "token":
                break
    await eventually_metric(api, before + 1, "tsa_rag_answers_total", outcome="cancelled")


async def test_unknown_model_is_404_before_streaming(api, manual):
    response = await api.post("/api/rag-chat", json={"query": "seal replacement", "model": "llama9:999b",
                                                     "stream": True})
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_model"


@pytest.mark.parametrize(("content", "status"), [
    (b"{not json", 400), (b'{"query": ""}', 422), (b'{"query": "x", "max_tokens": 0}', 422),
    (b'{"query": "x", "unexpected": 1}', 422), (b'{"query": "x", "cache": "sometimes"}', 422)])
async def test_malformed_requests(api, content, status):
    response = await api.post("/api/rag-chat", content=content, headers={"content-type": "application/json"})
    assert response.status_code == status and response.json()["error"]["code"] == "invalid_request"


async def test_health_ready_and_metrics(api, manual):
    assert (await api.get("/health")).json() == {"status": "ok"}
    ready = await api.get("/ready")
    assert ready.status_code == 200 and all(c["ok"] for c in ready.json()["checks"].values())
    fleet = (await api.get("/api/ollama-health")).json()
    assert fleet["healthy_instances"] == 1 and "smollm2:135m" in fleet["instances"][0]["models_available"]
    await api.post("/api/search", json={"query": "seal"})
    text = (await api.get("/metrics")).text
    assert 'tsa_http_requests_total{method="POST",route="/api/search",status="200"}' in text
    assert 'tsa_rag_stage_duration_seconds_count{stage="retrieve"}' in text
    assert 'tsa_ingest_documents_total{outcome="ready"}' in text
    unknown = await api.get("/no/such/route")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert 'route="unmatched"' in (await api.get("/metrics")).text

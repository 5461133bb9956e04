"""Conversations: a follow-up keeps its context, turns are stored per user, and callers see only their own."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.integration.conftest import client_as, new_user, wait_until_processed

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _page_with(pdf: bytes, text: str) -> int:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return next(n for n, page in enumerate(pages, start=1) if text in page.extract_text())


async def _ask(api, query: str, conversation: str | None = None) -> dict:
    body = {"query": query, "max_tokens": 16, **({"conversation_id": conversation} if conversation else {})}
    response = await api.post("/api/rag-chat", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_follow_up_keeps_its_context_and_the_turns_are_kept(container, api, sample_pdf):
    upload = await api.post("/api/documents", files={"file": ("hf22.pdf", sample_pdf)})
    assert (await wait_until_processed(api, upload.json()["document_id"]))["status"] == "ready"
    torque_page = _page_with(sample_pdf, "Impeller nut")

    first = await _ask(api, "What torque do the casing bolts need?", "van-7:job-12")
    assert first["rewrite"] == "none" and first["conversation_id"] == "van-7:job-12"
    follow_up = await _ask(api, "and the impeller nut?", "van-7:job-12")
    assert follow_up["rewrite"] in ("model", "rules")
    assert "impeller nut" in follow_up["standalone_query"].lower()
    assert torque_page in [s["page"] for s in follow_up["sources"]]
    assert any("Impeller nut" in s["snippet"] or "impeller" in s["section"].lower() for s in follow_up["sources"])

    alone = await _ask(api, "and the impeller nut?")
    assert alone["rewrite"] == "none" and alone["standalone_query"] == "and the impeller nut?"

    listed = (await api.get("/api/conversations")).json()["conversations"]
    assert [(c["id"], c["turn_count"], c["title"]) for c in listed] == [
        ("van-7:job-12", 2, "What torque do the casing bolts need?")]
    turns = (await api.get("/api/conversations/van-7:job-12")).json()["turns"]
    assert [t["question"] for t in turns] == ["What torque do the casing bolts need?", "and the impeller nut?"]
    assert turns[1]["standalone"] == follow_up["standalone_query"] and turns[1]["sources"]

    other = await new_user(container, "viewer")
    async with client_as(api, other["headers"]) as stranger:
        assert (await stranger.get("/api/conversations/van-7:job-12")).status_code == 404
        assert (await stranger.get("/api/conversations")).json()["conversations"] == []
        assert (await stranger.delete("/api/conversations/van-7:job-12")).status_code == 404

    assert (await api.delete("/api/conversations/van-7:job-12")).status_code == 204
    assert (await api.get("/api/conversations/van-7:job-12")).status_code == 404
    bad = await api.post("/api/rag-chat", json={"query": "x", "conversation_id": "a/b"})
    assert bad.status_code == 422


async def test_an_answer_still_goes_out_when_the_database_goes_away_before_its_turn_is_kept(
        bench_settings, service_for, monkeypatch):
    """The database disappearing between answering and keeping the turn loses the record, not the
    answer: the stream still ends with ``done`` (``recorded: false``), the JSON form is still a 200."""
    import asyncpg

    from tests.integration.conftest import sse_events

    async with service_for(bench_settings) as (container, api):
        async def gone(*args, **kwargs):
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

        monkeypatch.setattr(container.conversations, "append", gone)
        body = {"query": "What is the casing bolt torque?", "max_tokens": 4, "conversation_id": "van-1"}
        whole = await api.post("/api/rag-chat", json=body)
        assert whole.status_code == 200 and whole.json()["recorded"] is False and whole.json()["answer"]
        events = await sse_events(api, "POST", "/api/rag-chat", json={**body, "stream": True, "cache": "no-cache"})
        assert events[-1][0] == "done" and events[-1][1]["recorded"] is False
        monkeypatch.undo()
        assert (await api.post("/api/rag-chat", json=body)).json()["recorded"] is True

"""Feedback round trip: an answer's id, a rating from whoever got it, the admins' list and review."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.conftest import client_as, new_user, wait_until_processed

pytestmark = pytest.mark.integration


async def test_feedback_round_trip(bench_settings, service_for):
    async with service_for(bench_settings) as (container, admin):
        upload = await admin.post("/api/documents", files={"file": ("cx9.md", b"# CX-9\n\nUse CXO-46 oil.\n")})
        await wait_until_processed(admin, upload.json()["document_id"])
        tech = await new_user(container, "viewer")
        async with client_as(admin, tech["headers"]) as api:
            answer = (await api.post("/api/rag-chat", json={"query": "Which oil? Say: Use CXO-47 oil [1].",
                                                             "max_tokens": 20})).json()
            answer_id = answer["answer_id"]
            given = await api.post("/api/feedback", json={"answer_id": answer_id, "rating": "down",
                                                          "comment": "wrong oil",
                                                          "corrected_answer": "Use CXO-46 oil."})
            assert given.status_code == 201, given.text
            stored = given.json()
            assert (stored["question"], stored["rating"], stored["model"]) == (
                "Which oil? Say: Use CXO-47 oil [1].", "down", "bench-chat")
            assert stored["answer"] == "Use CXO-47 oil [1]. " and stored["sources"][0]["source"] == "cx9.md"
            assert stored["grounding"]["supported"] is False  # CXO-47 is not in the passage
            # Changing one's mind replaces the earlier rating.
            again = await api.post("/api/feedback", json={"answer_id": answer_id, "rating": "up"})
            assert again.status_code == 201 and again.json()["id"] == stored["id"]
            assert (await api.get("/api/feedback")).status_code == 403
            unknown = await api.post("/api/feedback", json={"answer_id": str(uuid.uuid4()), "rating": "up"})
            assert unknown.status_code == 404
        other = await new_user(container, "viewer")
        async with client_as(admin, other["headers"]) as stranger:
            someone_elses = await stranger.post("/api/feedback", json={"answer_id": answer_id, "rating": "down"})
            assert someone_elses.status_code == 404, "only whoever got the answer rates it"
        listed = (await admin.get("/api/feedback", params={"rating": "up"})).json()["feedback"]
        assert [f["answer_id"] for f in listed] == [answer_id] and listed[0]["reviewed"] is False
        reviewed = await admin.patch(f"/api/feedback/{listed[0]['id']}", json={"reviewed": True})
        assert reviewed.status_code == 200 and reviewed.json()["reviewed"] is True
        assert (await admin.get("/api/feedback", params={"reviewed": "false"})).json()["feedback"] == []
        assert (await admin.patch("/api/feedback/999999", json={"reviewed": True})).status_code == 404

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


async def test_reviewed_feedback_becomes_an_evaluation_set(bench_settings, service_for, tmp_path):
    """A corrected thumbs down turns into a case whose facts are the correction's and whose page is
    the one that holds them; the set runs against the store's own collection."""
    from tsa.evaluation import evaluate_retrieval
    from tsa.evaluation.runner import feedback_set
    from tsa.evaluation.sets import load_set

    manual = b"# CX-9\n\n## Oil\n\nUse CXO-46 oil.\n\n## Filters\n\nChange filter CXF-12 every 500 h.\n"
    async with service_for(bench_settings) as (container, admin):
        upload = await admin.post("/api/documents", files={"file": ("cx9.md", manual)})
        await wait_until_processed(admin, upload.json()["document_id"])
        ratings = [("Which oil? Say: Use CXO-47 oil [1].", "down", "Use CXO-46 oil."),
                   ("Which oil again? Say: No idea.", "down", None),
                   ("How often is the filter changed? Say: Every 500 h [1].", "up", None)]
        for question, rating, correction in ratings:
            answer = (await admin.post("/api/rag-chat", json={"query": question, "max_tokens": 20})).json()
            given = await admin.post("/api/feedback", json={"answer_id": answer["answer_id"], "rating": rating,
                                                            "corrected_answer": correction})
            assert given.status_code == 201, given.text
            await admin.patch(f"/api/feedback/{given.json()['id']}", json={"reviewed": True})

        evaluation, outcomes = await feedback_set(container)
        assert outcomes == {"made": 2, "a thumbs down without a corrected answer": 1}
        assert evaluation["collections"] == ["default"]
        by_question = {c["question"]: c for c in evaluation["cases"]}
        assert by_question["Which oil? Say: Use CXO-47 oil [1]."]["facts"] == ["CXO-46"]
        assert by_question["How often is the filter changed? Say: Every 500 h [1]."]["facts"] == ["500 h"]
        assert {c["document"] for c in evaluation["cases"]} == {"cx9.md"}

        import yaml
        path = tmp_path / "feedback.yaml"
        path.write_text(yaml.safe_dump(evaluation))
        result = await evaluate_retrieval(container, load_set(path, tmp_path))
        assert result.overall.cases == 2 and result.overall.hit_at_5 == 1.0


async def test_answer_evaluation_scores_facts_citations_refusals_and_grounding(bench_settings, tmp_path):
    """The answer evaluation (tsa eval --answers, bench/answers_eval.py) on a set asked against the
    store's own collection, with answers scripted through the bench engine."""
    import yaml

    from tsa.container import open_container
    from tsa.evaluation.answers import evaluate_answers
    from tsa.evaluation.sets import load_set

    cases = [{"question": "Which oil? Say: Use CXO-46 oil [1].", "document": "cx9.md", "facts": ["CXO-46"]},
             {"question": "Which filter? Say: Fit filter CXF-99 [1].", "document": "cx9.md", "facts": ["CXF-12"]},
             {"question": "What is the warranty? Say: The manuals do not cover this.", "unanswerable": True}]
    path = tmp_path / "scripted.yaml"
    path.write_text(yaml.safe_dump({"name": "scripted", "collections": ["default"], "cases": cases}))
    async with open_container(bench_settings) as container:
        await container.pipeline.ingest("cx9.md", b"# CX-9\n\nUse CXO-46 oil. Change filter CXF-12 every 500 h.\n")
        scores = await evaluate_answers(container, load_set(path, tmp_path))
    assert (scores.questions, scores.model) == (3, "bench-chat")
    assert scores.key_fact_accuracy == 0.5, "CXO-46 stated, CXF-12 not"
    assert scores.citation_correctness == 1.0, "the stated fact is in the passage cited as [1]"
    assert scores.refusal_accuracy == 1.0
    assert scores.grounded_share == 0.5, "CXF-99 is in no passage"

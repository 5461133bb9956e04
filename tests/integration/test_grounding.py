"""Every answer is checked against its passages: a value they do not hold is marked, or replaced."""

from __future__ import annotations

import pytest

from tests.integration.conftest import sse_events, wait_until_processed

pytestmark = pytest.mark.integration

MANUAL = (b"# HF-22 pump\n\n## Tightening torques\n\nCasing bolts M8x1.25: 25 N\xc2\xb7m.\n\n"
          b"Motor feet M12: 45 N\xc2\xb7m.\n\n## Impeller\n\nThe impeller nut takes 60 N\xc2\xb7m.\n")


async def _ask(api, say: str, stream: bool = False, cache: str = "no-cache") -> dict:
    body = {"query": f"What torque do the casing bolts need? Say: {say}", "max_tokens": 40, "cache": cache,
            "max_context_chunks": 1}
    if not stream:
        response = await api.post("/api/rag-chat", json=body)
        assert response.status_code == 200, response.text
        return response.json()
    events = await sse_events(api, "POST", "/api/rag-chat", json={**body, "stream": True})
    return events[-1][1] | {"streamed": "".join(d["text"] for e, d in events if e == "token")}


@pytest.fixture
async def pump_api(bench_settings, api_for):
    async with api_for(bench_settings) as api:
        upload = await api.post("/api/documents", files={"file": ("hf22.md", MANUAL)})
        assert upload.status_code == 202
        assert (await wait_until_processed(api, upload.json()["document_id"]))["status"] == "ready"
        yield api


async def test_a_value_the_passages_do_not_hold_is_marked(pump_api):
    answer = await _ask(pump_api, "The casing bolts need 35 N·m [1].")
    grounding = answer["grounding"]
    assert grounding["supported"] is False and grounding["replaced"] is False
    (claim,) = grounding["unsupported"]
    assert claim["kind"] == "quantity" and claim["claim"].endswith("N·m")
    assert "[not in the cited passages]" in answer["answer"]


async def test_a_supported_answer_is_left_alone_and_the_result_is_cached(pump_api):
    first = await _ask(pump_api, "The casing bolts need 25 N·m [1].", cache="default")
    assert first["grounding"] == {"supported": True, "cited": [1], "unsupported": [], "replaced": False}
    assert first["answer"].strip() == "The casing bolts need 25 N·m [1]."
    again = await _ask(pump_api, "The casing bolts need 25 N·m [1].", cache="default")
    assert again["cached"]["inference"] and again["grounding"] == first["grounding"]


async def test_the_done_event_carries_the_grounding_and_tokens_stay_as_written(pump_api):
    done = await _ask(pump_api, "Use 35 N·m and part HF-22-XX [1].", stream=True)
    kinds = sorted(c["kind"] for c in done["grounding"]["unsupported"])
    assert kinds == ["identifier", "quantity"]
    assert done["streamed"].strip() == "Use 35 N·m and part HF-22-XX [1]."


async def test_under_the_extractive_policy_a_failing_answer_becomes_quotes(bench_settings, api_for):
    bench_settings.grounding_policy = "extractive"
    async with api_for(bench_settings) as api:
        upload = await api.post("/api/documents", files={"file": ("hf22.md", MANUAL)})
        await wait_until_processed(api, upload.json()["document_id"])
        done = await _ask(api, "The casing bolts need 35 N·m [1].", stream=True)
        assert done["grounding"]["replaced"] is True
        assert "35 N·m" not in done["streamed"] and done["streamed"].startswith("From the manuals (quoted")
        assert done["answer"] == done["streamed"]
        kept = await _ask(api, "The casing bolts need 25 N·m [1].")
        assert kept["grounding"]["replaced"] is False and "25 N·m" in kept["answer"]

"""What /metrics reports for real requests: outcomes, time to first token, question types, clients."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from tests.integration.conftest import client_as, new_user, metric_value, wait_until_processed
from tsa.access.tokens import parse_key

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MANUAL = b"""# Pump HF-22

## Impeller nut

Tighten the impeller nut to 35 Nm.
"""


@pytest.fixture
async def bench_settings(settings, engines):
    engine = (await engines(1, "--bench-embed-ms", "2", "--bench-token-ms", "5"))[0]
    settings.ollama_instances = [engine.url]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    return settings


async def _snapshot(api, name: str, label: str, values: tuple[str, ...]) -> dict[str, float]:
    return {value: await metric_value(api, name, **{label: value}) for value in values}


def _grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in before if after[key] != before[key]}


async def test_every_answer_counts_its_outcome_type_and_first_token(bench_settings, api_for):
    bench_settings.min_similarity = -1.0  # benchmark vectors are random: every hit counts as relevant
    outcomes, kinds = ("answered", "no_context", "error", "cancelled"), ("generated", "cached", "no_context")
    async with api_for(bench_settings) as api:
        response = await api.post("/api/documents", files={"file": ("hf22.md", MANUAL)})
        assert (await wait_until_processed(api, response.json()["document_id"]))["status"] == "ready"
        before_outcomes = await _snapshot(api, "tsa_rag_answers_total", "outcome", outcomes)
        before_first = await _snapshot(api, "tsa_rag_time_to_first_token_seconds_count", "answer", kinds)
        before_types = await _snapshot(api, "tsa_rag_questions_total", "type",
                                       ("procedure", "troubleshooting", "specification", "general"))
        question = {"query": f"What is the torque of the impeller nut? {uuid.uuid4().hex[:6]}", "max_tokens": 8}
        first = (await api.post("/api/rag-chat", json=question)).json()
        second = (await api.post("/api/rag-chat", json=question)).json()
        assert second["cached"]["inference"] and second["timings_ms"]["time_to_first_token_ms"] > 0
        unknown = await api.post("/api/rag-chat", json={"query": "How do I replace the seal?", "model": "nope:1b"})
        assert unknown.status_code == 404

        assert first["sources"]
        assert _grown(before_outcomes, await _snapshot(api, "tsa_rag_answers_total", "outcome", outcomes)) == {
            "answered": 2, "error": 1}  # the cached answer counts too, the unknown model as an error
        assert _grown(before_first, await _snapshot(
            api, "tsa_rag_time_to_first_token_seconds_count", "answer", kinds)) == {"generated": 1, "cached": 1}
        assert _grown(before_types, await _snapshot(api, "tsa_rag_questions_total", "type", tuple(before_types))) \
            == {"specification": 2, "procedure": 1}


async def test_a_question_without_relevant_context_counts_as_no_context(bench_settings, api_for):
    bench_settings.min_similarity = 1.0  # nothing is similar enough without an identifier match
    async with api_for(bench_settings) as api:
        before = await metric_value(api, "tsa_rag_answers_total", outcome="no_context")
        body = (await api.post("/api/rag-chat", json={"query": "Who won the match yesterday?"})).json()
        assert body["sources"] == []
        assert await metric_value(api, "tsa_rag_answers_total", outcome="no_context") == before + 1
        assert await metric_value(api, "tsa_rag_time_to_first_token_seconds_count", answer="no_context") >= 1


async def test_requests_are_counted_per_user_and_key_without_exposing_keys(bench_settings, service_for):
    client = f"workshop-{uuid.uuid4().hex[:6]}"
    async with service_for(bench_settings) as (container, api):
        user = await new_user(container, "viewer")
        async with client_as(api, user["headers"]) as as_user, client_as(api, {}) as anonymous:
            for _ in range(3):  # signed in: the account names the client, whatever X-Client-Id claims
                assert (await as_user.get("/api/documents", headers={"X-Client-Id": client})).status_code == 200
            await anonymous.get("/api/documents", headers={"X-Client-Id": client})  # refused, counted by its id
            await anonymous.get("/health", headers={"X-Client-Id": client})  # not an API route: not counted
        text = (await api.get("/metrics")).text
        key_id = (await container.access.accounts.keys(user["id"]))[0]["id"]
        label = f"user:{user['username']}/key:{key_id}"
        assert await metric_value(api, "tsa_client_requests_total", client=label) == 3
        assert await metric_value(api, "tsa_client_requests_total", client=client) == 1
        secret = parse_key(user["token"])[1]  # may itself hold "_": split("_")[2] could be ""
        assert user["token"] not in text and secret not in text


async def test_known_label_values_are_exported_before_any_event(bench_settings, api_for):
    """Rates over these read 0 rather than "no data" on a fresh service (dashboards and alerts rely on it)."""
    llm_instance = bench_settings.ollama_instances[0].split("//")[1]
    async with api_for(bench_settings) as api:
        text = (await api.get("/metrics")).text
        for series in ('tsa_fleet_rejections_total{reason="queue_timeout"}',
                       'tsa_cache_events_total{event="coalesced",layer="chunks"}',
                       'tsa_rag_questions_total{type="troubleshooting"}', 'tsa_build_info{version="0.1.0"} 1.0',
                       f'tsa_fleet_requests_total{{kind="chat",llm_instance="{llm_instance}",outcome="timeout"}}'):
            assert series in text, series
        assert REGISTRY.get_sample_value("tsa_fleet_instance_healthy", {"llm_instance": llm_instance}) == 1
    # A closed fleet leaves no gauge claiming its instances' state.
    assert REGISTRY.get_sample_value("tsa_fleet_instance_healthy", {"llm_instance": llm_instance}) is None

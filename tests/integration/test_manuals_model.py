"""The manuals as a model any chat client can pick: ``tsa`` and ``tsa/<collection>`` on both APIs."""

from __future__ import annotations

import ollama
import openai
import pytest

from tests.integration.conftest import client_as, new_user, wait_until_processed

pytestmark = pytest.mark.integration

DRYER = b"# Dryer DR-4\n\n## Alarms\n\nAlarm A-05 means the dew point is too high. Check the purge valve.\n"
SECRET = b"# Vault V-9\n\n## Codes\n\nCode Z-99 means the door sensor failed.\n"


@pytest.fixture
async def manuals(bench_settings, service_for):
    async with service_for(bench_settings) as (container, admin):
        await container.access.collections.create("secret")
        for name, data, collection in (("dryer.md", DRYER, "default"), ("vault.md", SECRET, "secret")):
            sent = await admin.post("/api/documents", files={"file": (name, data)}, data={"collection": collection})
            assert (await wait_until_processed(admin, sent.json()["document_id"]))["status"] == "ready"
        viewer = await new_user(container, "viewer")  # reads "default" (everyone may), not "secret"
        yield container, admin, viewer


async def test_the_manuals_answer_through_ollamas_chat_with_sources(manuals):
    _, admin, _ = manuals
    client = ollama.AsyncClient(host=str(admin.base_url), headers={"Authorization": admin.headers["authorization"]})
    try:
        assert {"tsa", "tsa/default", "tsa/secret"} <= {m.model for m in (await client.list()).models}
        parts = [p async for p in await client.chat(model="tsa", stream=True, options={"num_predict": 8}, messages=[
            {"role": "user", "content": "What does alarm A-05 mean?"}])]
    finally:
        await client.close()
    assert parts[-1].done and "Sources:" in "".join(p.message.content for p in parts)
    # The structured sources ride on the final message, in a field the official client ignores.
    whole = (await admin.post("/api/chat", json={"model": "tsa", "stream": False, "options": {"num_predict": 8},
                                                 "messages": [{"role": "user", "content": "What does alarm A-05 mean?"}]}
                              )).json()
    assert whole["done"] and "Sources:\n[1] " in whole["message"]["content"]
    assert "dryer.md" in {s["source"] for s in whole["tsa_sources"]}


async def test_a_follow_up_through_openai_is_a_turn_of_the_conversation(manuals):
    _, admin, _ = manuals
    key = admin.headers["authorization"].removeprefix("Bearer ")
    async with openai.AsyncOpenAI(base_url=f"{admin.base_url}/v1", api_key=key, max_retries=0) as client:
        chunks = [c async for c in await client.chat.completions.create(
            model="tsa/default", stream=True, max_tokens=8, messages=[
                {"role": "user", "content": "What does alarm A-05 mean?"},
                {"role": "assistant", "content": "The dew point is too high."},
                {"role": "user", "content": "and what should I check?"}])]
        last = [c for c in chunks if c.choices][-1]
        assert last.choices[0].finish_reason in ("stop", "length")
        assert [s["source"] for s in last.model_extra["tsa_sources"]] == ["dryer.md"]
        whole = await client.chat.completions.create(model="tsa", max_tokens=8,
                                                     messages=[{"role": "user", "content": "What is code Z-99?"}])
        assert "Sources:" in whole.choices[0].message.content
        assert "vault.md" in {s["source"] for s in whole.model_extra["tsa_sources"]}


async def test_a_viewer_sees_and_asks_only_the_collections_it_may_read(manuals):
    _, admin, viewer = manuals
    async with openai.AsyncOpenAI(base_url=f"{admin.base_url}/v1", api_key=viewer["token"], max_retries=0) as client:
        names = {m.id async for m in client.models.list()}
        assert {"tsa", "tsa/default"} <= names and "tsa/secret" not in names
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="tsa/secret", messages=[{"role": "user", "content": "Z-99?"}])
        whole = await client.chat.completions.create(model="tsa", max_tokens=8,
                                                     messages=[{"role": "user", "content": "What is code Z-99?"}])
        assert "vault.md" not in {s["source"] for s in whole.model_extra["tsa_sources"]}
    async with client_as(admin, viewer["headers"]) as http:
        assert "tsa/secret" not in {m["name"] for m in (await http.get("/api/tags")).json()["models"]}

"""A database made by the release before accounts existed migrates, and its documents stay answerable."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.conftest import client_as, new_user
from tsa.store import create_pool, ensure_embedding_space, migrate
from tsa.store.migrate import bundled_migrations
from tsa.store.pool import vector_literal

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TEXT = "The casing bolts of the HF-22 pump need 25 N m."


async def _previous_release_database(database_url: str, engine_url: str) -> uuid.UUID:
    """Schema and rows exactly as release 0.1 (migrations 1 and 2) wrote them."""
    async with httpx.AsyncClient(timeout=30) as http:
        vector = (await http.post(f"{engine_url}/api/embed", json={"model": "bench-embed", "input": TEXT})
                  ).json()["embeddings"][0]
    pool = await create_pool(database_url)
    try:
        assert await migrate(pool, [m for m in bundled_migrations() if m.version <= 2]) == [1, 2]
        await ensure_embedding_space(pool, "bench-embed", len(vector))
        document_id = uuid.uuid4()
        await pool.execute("INSERT INTO documents (id, source, title, sha256, doc_type, status, size_bytes,"
                           " chunk_count) VALUES ($1, 'hf22.md', 'HF-22', 'abc', 'md', 'ready', 100, 1)", document_id)
        await pool.execute("INSERT INTO chunks (document_id, ordinal, text, identifiers, embedding)"
                           " VALUES ($1, 0, $2, '{HF-22}', $3::text::vector)", document_id, TEXT, vector_literal(vector))
    finally:
        await pool.close()
    return document_id


async def test_documents_of_the_previous_release_land_in_the_default_collection(settings, engines, service_for):
    engine = (await engines(1, "--bench-embed-ms", "1", "--bench-token-ms", "1"))[0]
    settings.ollama_instances = [engine.url]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    document_id = await _previous_release_database(settings.database_url, engine.url)
    async with service_for(settings) as (container, _):
        assert await container.pool.fetchval("SELECT max(version) FROM schema_migrations") == max(
            m.version for m in bundled_migrations())
        viewer = await new_user(container, "viewer")
        async with client_as(_, viewer["headers"]) as as_viewer:
            document = (await as_viewer.get(f"/api/documents/{document_id}")).json()
            default = await container.access.collections.id_of("default")
            assert document["collection_id"] == default and document["status"] == "ready"
            found = (await as_viewer.post("/api/search", json={"query": "HF-22 casing bolts"})).json()["results"]
            assert [r["document_id"] for r in found] == [str(document_id)]
            answer = (await as_viewer.post("/api/rag-chat", json={"query": "HF-22 casing bolts torque",
                                                                 "max_tokens": 4})).json()
            assert [s["document_id"] for s in answer["sources"]] == [str(document_id)]
        async with client_as(_, {}) as anonymous:
            assert (await anonymous.get(f"/api/documents/{document_id}")).status_code == 401

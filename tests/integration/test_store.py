"""Migrations and the embedding space against a real PostgreSQL with pgvector."""

from __future__ import annotations

import asyncio

import pytest

from tsa.errors import EmbeddingSpaceMismatch
from tsa.store import create_pool, ensure_embedding_space, migrate, reindex
from tsa.store.migrate import bundled_migrations

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_url):
    pool = await create_pool(database_url)
    yield pool
    await pool.close()


async def test_migrations_apply_once_even_when_replicas_race(pool):
    results = await asyncio.gather(*(migrate(pool) for _ in range(4)))
    every = [m.version for m in bundled_migrations()]
    assert sorted(results, key=len)[-1] == every and sum(len(r) for r in results) == len(every)
    assert await migrate(pool) == []
    indexes = {r["indexname"] for r in await pool.fetch("SELECT indexname FROM pg_indexes WHERE tablename='chunks'")}
    assert {"chunks_tsv", "chunks_identifiers"} <= indexes


async def test_embedding_space_is_fixed_by_the_first_model(pool):
    await migrate(pool)
    await ensure_embedding_space(pool, "all-minilm", 384)
    await ensure_embedding_space(pool, "all-minilm", 384)
    column = await pool.fetchval(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'chunks'::regclass "
        "AND attname = 'embedding'")
    assert column == "vector(384)"
    index = await pool.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = 'chunks_embedding_hnsw'")
    assert "hnsw" in index and "vector_cosine_ops" in index
    with pytest.raises(EmbeddingSpaceMismatch, match="run `tsa reindex`"):
        await ensure_embedding_space(pool, "nomic-embed-text", 768)


async def test_reindex_moves_every_chunk_to_the_new_model(pool, container):
    # The container's store already holds all-minilm vectors; pretend they came from an older model.
    await container.pipeline.ingest("notes.md", b"# Pump\n\nThe HF-22 pump moves 22 m3/h of water.")
    await container.pool.execute("UPDATE store_meta SET value = 'old-model' WHERE key = 'embedding_model'")
    with pytest.raises(EmbeddingSpaceMismatch):
        await ensure_embedding_space(container.pool, "all-minilm", 384)
    count = await reindex(container.pool, "all-minilm", 384, container.embedder)
    assert count == 1
    await ensure_embedding_space(container.pool, "all-minilm", 384)
    assert await container.pool.fetchval("SELECT count(*) FROM chunks WHERE embedding IS NULL") == 0
    hits = await container.retriever.search("pump flow", (await container.embedder(["pump flow"]))[0], 3,
                                           await container.access.collections.all_ids())
    assert hits and hits[0].similarity > 0.2


async def test_readers_keep_being_answered_while_every_chunk_is_re_embedded(container):
    sections = "".join(f"## Valve V-{n}\n\nValve V-{n} needs seal kit K-{n}.\n\n" for n in range(30))
    await container.pipeline.ingest("valves.md", f"# Valves\n\n{sections}".encode())
    everything = await container.access.collections.all_ids()
    vector = (await container.embedder(["seal kit for valve V-7"]))[0]
    embedding = asyncio.Event()
    answered_meanwhile = 0

    async def slow_embed(texts):
        embedding.set()
        await asyncio.sleep(0.05)
        return await container.embedder(texts)

    async def search_while_reindexing(reindexing: asyncio.Task) -> None:
        nonlocal answered_meanwhile
        await embedding.wait()
        while not reindexing.done():
            hits = await container.retriever.search("seal kit for valve V-7", vector, 3, everything)
            assert hits and "V-7" in hits[0].text
            answered_meanwhile += not reindexing.done()

    reindexing = asyncio.create_task(reindex(container.pool, "all-minilm", 384, slow_embed, batch_size=2))
    await asyncio.gather(reindexing, search_while_reindexing(reindexing))
    assert reindexing.result() == await container.documents.chunk_count()
    assert answered_meanwhile > 5, "searches were locked out while chunks were re-embedded"
    assert await container.pool.fetchval("SELECT count(*) FROM chunks WHERE embedding IS NULL") == 0


async def test_a_rolled_back_release_runs_on_a_newer_schema(settings, pool):
    """Rollback safety: a newer release's additive migration is ignored, and ingest and search still work."""
    from tsa.container import open_container
    from tsa.store.migrate import Migration, bundled_migrations

    newer = Migration(9001, "future_release", "ALTER TABLE chunks ADD COLUMN summary text; "
                                              "CREATE TABLE future_notes (id bigserial PRIMARY KEY, note text)")
    known = [m.version for m in bundled_migrations()]
    assert await migrate(pool, [*bundled_migrations(), newer]) == [*known, 9001]
    async with open_container(settings) as container:  # this release does not know 9001
        await container.pipeline.ingest("notes.md", b"# Pump\n\nThe HF-22 pump moves 22 m3/h of water.")
        hits = await container.retriever.search("HF-22 flow", (await container.embedder(["HF-22 flow"]))[0], 3,
                                               await container.access.collections.all_ids())
    assert hits and "22 m3/h" in hits[0].text
    assert await pool.fetchval("SELECT max(version) FROM schema_migrations") == 9001

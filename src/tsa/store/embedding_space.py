"""Which embedding model the store's vectors come from; one model per store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from tsa.errors import EmbeddingSpaceMismatch
from tsa.store.pool import vector_literal

Embedder = Callable[[list[str]], Awaitable[list[list[float]]]]


async def _read_space(conn: asyncpg.Connection) -> tuple[str, int] | None:
    rows = {r["key"]: r["value"] for r in await conn.fetch(
        "SELECT key, value FROM store_meta WHERE key IN ('embedding_model', 'embedding_dims')")}
    if "embedding_model" not in rows:
        return None
    return rows["embedding_model"], int(rows["embedding_dims"])


async def _create_vector_column(conn: asyncpg.Connection, model: str, dims: int) -> None:
    await conn.execute(f"ALTER TABLE chunks ADD COLUMN embedding vector({int(dims)})")
    await conn.execute("CREATE INDEX chunks_embedding_hnsw ON chunks USING hnsw (embedding vector_cosine_ops)")
    await _record_space(conn, model, dims)


async def _record_space(conn: asyncpg.Connection, model: str, dims: int) -> None:
    await conn.executemany(
        "INSERT INTO store_meta (key, value) VALUES ($1, $2) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [("embedding_model", model), ("embedding_dims", str(dims))])


async def ensure_embedding_space(pool: asyncpg.Pool, model: str, dims: int) -> None:
    """Set up the vector column for ``model`` on first use; refuse a different model later."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE store_meta IN EXCLUSIVE MODE")
        space = await _read_space(conn)
        if space is None:
            await _create_vector_column(conn, model, dims)
        elif space != (model, dims):
            raise EmbeddingSpaceMismatch(
                f"the store holds embeddings from {space[0]!r} ({space[1]} dims) but EMBEDDING_MODEL is "
                f"{model!r} ({dims} dims); run `tsa reindex` to re-embed every chunk with the new model, "
                "or set EMBEDDING_MODEL back")


_PENDING = "SELECT id, heading, text FROM chunks WHERE id > $1 AND embedding_next IS NULL ORDER BY id LIMIT $2"


async def _fill(conn: asyncpg.Connection | asyncpg.Pool, embed: Embedder, batch_size: int) -> int:
    """Embed the chunks that have no new vector yet, in batches; returns how many."""
    done, last_id = 0, 0
    while rows := await conn.fetch(_PENDING, last_id, batch_size):
        vectors = await embed([embedding_text(r["heading"], r["text"]) for r in rows])
        await conn.executemany("UPDATE chunks SET embedding_next = $2::text::vector WHERE id = $1",
                               [(r["id"], vector_literal(v)) for r, v in zip(rows, vectors, strict=True)])
        done += len(rows)
        last_id = rows[-1]["id"]
    return done


async def reindex(pool: asyncpg.Pool, model: str, dims: int, embed: Embedder, batch_size: int = 64) -> int:
    """Re-embed every chunk with ``model`` beside the live vectors, then swap them in one short
    transaction: readers keep being answered from the old vectors all along, and see the old or the
    new, never a mix. The new index is built before the swap without blocking anyone."""
    async with pool.acquire() as conn:
        await conn.execute("DROP INDEX IF EXISTS chunks_embedding_next_hnsw")
        await conn.execute("ALTER TABLE chunks DROP COLUMN IF EXISTS embedding_next")
        await conn.execute(f"ALTER TABLE chunks ADD COLUMN embedding_next vector({int(dims)})")
    count = await _fill(pool, embed, batch_size)
    await pool.execute("CREATE INDEX CONCURRENTLY chunks_embedding_next_hnsw ON chunks"
                       " USING hnsw (embedding_next vector_cosine_ops)")
    async with pool.acquire() as conn, conn.transaction():
        # New chunks wait for the swap; the few written meanwhile are embedded now.
        await conn.execute("LOCK TABLE chunks IN SHARE ROW EXCLUSIVE MODE")
        count += await _fill(conn, embed, batch_size)
        await conn.execute("DROP INDEX IF EXISTS chunks_embedding_hnsw")
        await conn.execute("ALTER TABLE chunks DROP COLUMN IF EXISTS embedding")
        await conn.execute("ALTER TABLE chunks RENAME COLUMN embedding_next TO embedding")
        await conn.execute("ALTER INDEX chunks_embedding_next_hnsw RENAME TO chunks_embedding_hnsw")
        await _record_space(conn, model, dims)
        await conn.execute("UPDATE store_meta SET value = (value::bigint + 1)::text WHERE key = 'corpus_generation'")
    return count


def embedding_text(heading: str, text: str) -> str:
    """What gets embedded for a chunk: its section heading gives the vector context."""
    return f"{heading}\n{text}" if heading else text

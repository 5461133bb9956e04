"""Documents and their chunks: create, publish atomically, fail, list, delete."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

import asyncpg

from tsa.errors import NotFound
from tsa.records import Chunk, DocumentInfo
from tsa.store.identifiers import extract_identifiers
from tsa.store.originals import drop_unused_originals, lock_original, store_original
from tsa.store.pool import vector_literal

_ADVANCE_GENERATION = ("UPDATE store_meta SET value = (value::bigint + 1)::text"
                       " WHERE key = 'corpus_generation'")
_COLUMNS = ("id, collection_id, source, title, sha256, doc_type, status, error, size_bytes, page_count, "
            "chunk_count, created_at, updated_at")


@dataclass(frozen=True)
class PublishResult:
    document_id: uuid.UUID
    # The live document with identical content, when this one turned out to be a duplicate.
    duplicate_of: uuid.UUID | None
    replaced: list[uuid.UUID]


def _info(row: asyncpg.Record) -> DocumentInfo:
    return DocumentInfo(**dict(row))


class DocumentStore:
    """Reads take the caller's collection scope (ids) as data; the store knows no users."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def default_collection(self) -> int:
        return await self.pool.fetchval("SELECT id FROM collections WHERE name = 'default'")

    async def find_ready_by_sha(self, sha256: str, collection_id: int) -> DocumentInfo | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM documents WHERE sha256 = $1 AND collection_id = $2 AND status = 'ready'"
            " LIMIT 1", sha256, collection_id)
        return _info(row) if row else None

    async def source_is_live(self, source: str, collection_id: int) -> bool:
        return await self.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM documents WHERE source = $1 AND collection_id = $2 AND status = 'ready')",
            source, collection_id)

    async def create_processing(self, source: str, sha256: str, doc_type: str, size_bytes: int,
                                collection_id: int, original: bytes | None = None) -> uuid.UUID:
        """The document's record and, in the same transaction, its original file (kept once per content)."""
        document_id = uuid.uuid4()
        async with self.pool.acquire() as conn, conn.transaction():
            await lock_original(conn, sha256)
            if original is not None:
                await store_original(conn, sha256, original)
            await conn.execute(
                "INSERT INTO documents (id, collection_id, source, title, sha256, doc_type, status, size_bytes) "
                "VALUES ($1, $6, $2, $2, $3, $4, 'processing', $5)",
                document_id, source, sha256, doc_type, size_bytes, collection_id)
        return document_id

    async def fail_interrupted(self) -> int:
        """Documents left ``processing`` by a stopped process will never finish: say so."""
        status = await self.pool.execute(
            "UPDATE documents SET status = 'failed', error = 'interrupted: the service stopped; upload again',"
            " updated_at = now() WHERE status = 'processing'")
        return int(status.split()[-1])

    async def mark_failed(self, document_id: uuid.UUID, reason: str) -> None:
        await self.pool.execute(
            "UPDATE documents SET status = 'failed', error = $2, updated_at = now() WHERE id = $1",
            document_id, reason)

    async def publish(self, document_id: uuid.UUID, title: str, page_count: int | None,
                      chunks: list[Chunk], vectors: list[list[float]]) -> PublishResult:
        """Make the document live and retire older versions of its source, in one transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            doc = await conn.fetchrow("SELECT source, sha256, collection_id FROM documents WHERE id = $1 FOR UPDATE",
                                      document_id)
            if doc is None:
                raise NotFound(f"document {document_id} was deleted while it was being processed")
            # Serialise publishers of the same source so the unique index never trips mid-race.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", doc["source"])
            twin = await conn.fetchval(
                "SELECT id FROM documents WHERE sha256 = $1 AND collection_id = $2 AND status = 'ready'",
                doc["sha256"], doc["collection_id"])
            if twin is not None:
                await conn.execute("DELETE FROM documents WHERE id = $1", document_id)
                return PublishResult(document_id, twin, [])
            gone = await conn.fetch(
                "DELETE FROM documents WHERE source = $1 AND collection_id = $2 AND status = 'ready'"
                " RETURNING id, sha256", doc["source"], doc["collection_id"])
            replaced = [r["id"] for r in gone]
            await drop_unused_originals(conn, [r["sha256"] for r in gone])
            await conn.executemany(
                "INSERT INTO chunks (document_id, collection_id, ordinal, page_start, page_end, heading_path,"
                " heading, text, identifiers, embedding)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::vector)",
                [(document_id, doc["collection_id"], c.ordinal, c.page_start, c.page_end, list(c.heading_path),
                  " > ".join(c.heading_path), c.text, extract_identifiers(" ".join((*c.heading_path, c.text))),
                  vector_literal(v)) for c, v in zip(chunks, vectors, strict=True)])
            await conn.execute(
                "UPDATE documents SET status = 'ready', error = NULL, title = $2, page_count = $3,"
                " chunk_count = $4, updated_at = now() WHERE id = $1",
                document_id, title, page_count, len(chunks))
            await conn.execute(_ADVANCE_GENERATION)
        return PublishResult(document_id, None, replaced)

    async def get(self, document_id: uuid.UUID, scope: Collection[int] | None = None) -> DocumentInfo:
        """The document, if it is in ``scope`` (None: any); outside it, exactly as if it did not exist."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM documents WHERE id = $1 AND ($2::bigint[] IS NULL OR collection_id = ANY($2))",
            document_id, None if scope is None else list(scope))
        if row is None:
            raise NotFound(f"document {document_id} not found")
        return _info(row)

    async def list(self, scope: Collection[int], limit: int = 100, offset: int = 0) -> list[DocumentInfo]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM documents WHERE collection_id = ANY($3::bigint[])"
            " ORDER BY created_at DESC LIMIT $1 OFFSET $2", limit, offset, list(scope))
        return [_info(r) for r in rows]

    async def delete(self, document_id: uuid.UUID) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            deleted = await conn.fetchrow("DELETE FROM documents WHERE id = $1 RETURNING status, sha256", document_id)
            if deleted is None:
                raise NotFound(f"document {document_id} not found")
            await drop_unused_originals(conn, [deleted["sha256"]])
            if deleted["status"] == "ready":
                await conn.execute(_ADVANCE_GENERATION)

    async def generation(self) -> str:
        """``<store id>:<n>``: n advances with every change to what retrieval can see."""
        return await self.pool.fetchval(
            "SELECT (SELECT value FROM store_meta WHERE key = 'store_id') || ':' ||"
            " (SELECT value FROM store_meta WHERE key = 'corpus_generation')")

    async def chunk_count(self) -> int:
        return int(await self.pool.fetchval(
            "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.status = 'ready'"))

"""Documents and their chunks: record, follow progress, publish atomically, fail, list, delete."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import asyncpg

from tsa.errors import NotFound
from tsa.ingest.editions import current_edition
from tsa.records import Chunk, DocumentInfo
from tsa.store.identifiers import extract_identifiers
from tsa.store.originals import drop_unused_originals, lock_original, store_original
from tsa.store.pool import vector_literal

_ADVANCE_GENERATION = ("UPDATE store_meta SET value = (value::bigint + 1)::text"
                       " WHERE key = 'corpus_generation'")
_COLUMNS = ("id, collection_id, source, title, sha256, doc_type, status, error, size_bytes, page_count, "
            "chunk_count, created_at, updated_at, stage, pages_done, pages_total, chunks_done, chunks_total, "
            "progress_at, attempts, job_id, ocr_pages, product, edition, superseded_by, structure")
# Every progress write tells the API processes following the document (server-sent events).
PROGRESS_CHANNEL = "tsa_documents"
_NOTIFY = f"SELECT pg_notify('{PROGRESS_CHANNEL}', $1::uuid::text)"


@dataclass(frozen=True)
class PublishResult:
    document_id: uuid.UUID
    # The live document with identical content, when this one turned out to be a duplicate.
    duplicate_of: uuid.UUID | None
    replaced: list[uuid.UUID]


@dataclass(frozen=True)
class Parsed:
    """What parsing produced for one document, ready to be stored with its vectors."""

    title: str
    page_count: int | None
    chunks: list[Chunk]
    vectors: list[list[float]]
    ocr_pages: frozenset[int] = frozenset()
    edition: str | None = None
    structure: str | None = None  # where the section titles came from (ParsedDocument.structure)


def _info(row: asyncpg.Record) -> DocumentInfo:
    return DocumentInfo(**dict(row))


def product_identity(title: str) -> str:
    """The manual a title names, for matching editions: case and spacing do not matter."""
    return " ".join(title.casefold().split())[:200]


def _ocr(chunk: Chunk, ocr_pages: frozenset[int]) -> bool:
    if not ocr_pages or chunk.page_start is None:
        return False
    return any(page in ocr_pages for page in range(chunk.page_start, (chunk.page_end or chunk.page_start) + 1))


# All of a document's chunks in one statement, so the BM25 statistics' trigger runs once; lists
# (heading path, identifiers) travel as JSON, since PostgreSQL arrays of arrays must be rectangular.
_INSERT_CHUNKS_SQL = """
INSERT INTO chunks (document_id, collection_id, ordinal, page_start, page_end, heading_path, heading, text,
                    identifiers, ocr, embedding)
SELECT $1, $2, r.ordinal, r.page_start, r.page_end, ARRAY(SELECT jsonb_array_elements_text(r.heading_path)),
       r.heading, r.text, ARRAY(SELECT jsonb_array_elements_text(r.identifiers)), r.ocr, r.embedding::vector
FROM unnest($3::int[], $4::int[], $5::int[], $6::jsonb[], $7::text[], $8::text[], $9::jsonb[], $10::bool[],
            $11::text[]) AS r(ordinal, page_start, page_end, heading_path, heading, text, identifiers, ocr, embedding)
"""


async def _insert_chunks(conn: asyncpg.Connection, document_id: uuid.UUID, collection_id: int,
                         parsed: Parsed) -> None:
    rows = [(c.ordinal, c.page_start, c.page_end, json.dumps(list(c.heading_path)), " > ".join(c.heading_path),
             c.text, json.dumps(extract_identifiers(" ".join((*c.heading_path, c.text)))),
             _ocr(c, parsed.ocr_pages), vector_literal(v))
            for c, v in zip(parsed.chunks, parsed.vectors, strict=True)]
    if rows:
        columns = (list(column) for column in zip(*rows, strict=True))
        await conn.execute(_INSERT_CHUNKS_SQL, document_id, collection_id, *columns)


async def settle_editions(conn: asyncpg.Connection, collection_id: int, product: str | None) -> None:
    """Answers come from the current edition of a manual; the others are marked superseded by it."""
    if product is None:
        return
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('edition:' || $1::bigint::text || ':' || $2::text))",
                       collection_id, product)
    rows = await conn.fetch("SELECT id, edition, created_at FROM documents"
                            " WHERE collection_id = $1 AND product = $2 AND status = 'ready'", collection_id, product)
    current = current_edition((r["id"], r["edition"], r["created_at"]) for r in rows)
    ids = [r["id"] for r in rows]
    await conn.execute("UPDATE documents SET superseded_by = CASE WHEN id = $2 THEN NULL ELSE $2 END"
                       " WHERE id = ANY($1::uuid[]) AND superseded_by IS DISTINCT FROM"
                       " (CASE WHEN id = $2 THEN NULL ELSE $2 END)", ids, current)
    await conn.execute("UPDATE chunks SET superseded = (document_id <> $2)"
                       " WHERE document_id = ANY($1::uuid[]) AND superseded <> (document_id <> $2)", ids, current)


# The cited chunk's section, nearest chunks first by ordinal distance, shown in order.
_SECTION_SQL = """
SELECT * FROM (
    SELECT s.id, s.ordinal, s.text, s.page_start, s.page_end, s.heading_path, s.document_id, d.title, d.source,
           d.doc_type
    FROM chunks c
    JOIN chunks s ON s.document_id = c.document_id AND s.heading_path = c.heading_path
    JOIN documents d ON d.id = c.document_id
    WHERE c.id = $1 AND c.collection_id = ANY($2::bigint[])
    ORDER BY abs(s.ordinal - c.ordinal) LIMIT $3
) near ORDER BY ordinal
"""


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

    async def find_unfinished_by_sha(self, sha256: str, collection_id: int) -> DocumentInfo | None:
        """A document with this content still on its way (a bulk import listing a file twice)."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM documents WHERE sha256 = $1 AND collection_id = $2 AND status = 'processing'"
            " ORDER BY created_at LIMIT 1", sha256, collection_id)
        return _info(row) if row else None

    async def source_is_live(self, source: str, collection_id: int) -> bool:
        return await self.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM documents WHERE source = $1 AND collection_id = $2 AND status = 'ready')",
            source, collection_id)

    async def create_processing(self, source: str, sha256: str, doc_type: str, size_bytes: int,
                                collection_id: int, original: bytes | None = None, *, product: str | None = None,
                                edition: str | None = None) -> uuid.UUID:
        """The document's record (stage ``queued``) and, in the same transaction, its original file
        (kept once per content)."""
        document_id = uuid.uuid4()
        async with self.pool.acquire() as conn, conn.transaction():
            await lock_original(conn, sha256)
            if original is not None:
                await store_original(conn, sha256, original)
            await conn.execute(
                "INSERT INTO documents (id, collection_id, source, title, sha256, doc_type, status, stage,"
                " size_bytes, product, edition) VALUES ($1, $6, $2, $2, $3, $4, 'processing', 'queued', $5, $7, $8)",
                document_id, source, sha256, doc_type, size_bytes, collection_id, product, edition)
        return document_id

    async def set_job(self, document_id: uuid.UUID, job_id: int) -> None:
        await self.pool.execute("UPDATE documents SET job_id = $2 WHERE id = $1", document_id, job_id)

    async def progress(self, document_id: uuid.UUID, stage: str | None = None, *,
                       pages: tuple[int, int | None] | None = None, chunks: tuple[int, int | None] | None = None,
                       error: str | None = None, attempt: int | None = None) -> None:
        """Record how far the document has come, and tell whoever follows it."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE documents SET progress_at = now(), stage = coalesce($2, stage),"
                " pages_done = coalesce($3, pages_done), pages_total = coalesce($4, pages_total),"
                " chunks_done = coalesce($5, chunks_done), chunks_total = coalesce($6, chunks_total),"
                " error = coalesce($7, error), attempts = coalesce($8, attempts) WHERE id = $1",
                document_id, stage, pages[0] if pages else None, pages[1] if pages else None,
                chunks[0] if chunks else None, chunks[1] if chunks else None, error, attempt)
            await conn.execute(_NOTIFY, document_id)

    async def unfinished_without_job(self, older_than_s: float) -> list[uuid.UUID]:
        """Documents waiting for a job that does not exist (the process that recorded them stopped
        before it could queue them, or a job was lost): the queue takes them up again."""
        rows = await self.pool.fetch(
            "SELECT d.id FROM documents d LEFT JOIN procrastinate_jobs j ON j.id = d.job_id"
            " WHERE d.status = 'processing' AND d.progress_at < now() - make_interval(secs => $1)"
            " AND (j.id IS NULL OR j.status NOT IN ('todo', 'doing'))", older_than_s)
        return [r["id"] for r in rows]

    async def mark_failed(self, document_id: uuid.UUID, reason: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE documents SET status = 'failed', stage = 'failed', error = $2, updated_at = now(),"
                " progress_at = now() WHERE id = $1 AND status = 'processing'", document_id, reason)
            await conn.execute(_NOTIFY, document_id)

    async def publish(self, document_id: uuid.UUID, parsed: Parsed) -> PublishResult:
        """Make the document live, retire older versions of its source and settle its manual's
        editions, in one transaction. Publishing twice (a retried job) changes nothing."""
        async with self.pool.acquire() as conn, conn.transaction():
            doc = await conn.fetchrow("SELECT source, sha256, collection_id, status, product, edition, title"
                                      " FROM documents WHERE id = $1 FOR UPDATE", document_id)
            if doc is None:
                raise NotFound(f"document {document_id} was deleted while it was being processed")
            if doc["status"] != "processing":
                return PublishResult(document_id, None, [])
            edition = doc["edition"] or parsed.edition
            # A stated edition names a manual; its title says which, unless the upload did.
            product = doc["product"] or (product_identity(parsed.title) if edition else None)
            # Serialise publishers of the same source so the unique index never trips mid-race.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", doc["source"])
            twin = await conn.fetchval(
                "SELECT id FROM documents WHERE sha256 = $1 AND collection_id = $2 AND status = 'ready'",
                doc["sha256"], doc["collection_id"])
            if twin is not None:
                await conn.execute("DELETE FROM documents WHERE id = $1", document_id)
                await conn.execute(_NOTIFY, document_id)
                return PublishResult(document_id, twin, [])
            gone = await conn.fetch(
                "DELETE FROM documents WHERE source = $1 AND collection_id = $2 AND status = 'ready'"
                " AND coalesce(edition, '') = coalesce($3, '') RETURNING id, sha256",
                doc["source"], doc["collection_id"], edition)
            replaced = [r["id"] for r in gone]
            await drop_unused_originals(conn, [r["sha256"] for r in gone])
            await _insert_chunks(conn, document_id, doc["collection_id"], parsed)
            await conn.execute(
                "UPDATE documents SET status = 'ready', stage = 'ready', error = NULL, title = $2, page_count = $3,"
                " chunk_count = $4, ocr_pages = $5, edition = $6, product = $7, structure = $8, updated_at = now(),"
                " progress_at = now() WHERE id = $1",
                document_id, parsed.title, parsed.page_count, len(parsed.chunks), len(parsed.ocr_pages), edition,
                product, parsed.structure)
            await settle_editions(conn, doc["collection_id"], product)
            await conn.execute(_ADVANCE_GENERATION)
            await conn.execute(_NOTIFY, document_id)
        return PublishResult(document_id, None, replaced)

    async def replace_chunks(self, document_id: uuid.UUID, parsed: Parsed) -> bool:
        """Swap a live document's chunks for a new parse in one transaction: readers see the old
        chunks or the new, never a mix. False when the document is gone or not live."""
        async with self.pool.acquire() as conn, conn.transaction():
            doc = await conn.fetchrow("SELECT collection_id, status, superseded_by FROM documents"
                                      " WHERE id = $1 FOR UPDATE", document_id)
            if doc is None or doc["status"] != "ready":
                return False
            await conn.execute("DELETE FROM chunks WHERE document_id = $1", document_id)
            await _insert_chunks(conn, document_id, doc["collection_id"], parsed)
            if doc["superseded_by"] is not None:
                await conn.execute("UPDATE chunks SET superseded = true WHERE document_id = $1", document_id)
            await conn.execute(
                "UPDATE documents SET stage = 'ready', error = NULL, title = $2, page_count = $3, chunk_count = $4,"
                " ocr_pages = $5, edition = coalesce(edition, $6), structure = $7, updated_at = now(),"
                " progress_at = now() WHERE id = $1",
                document_id, parsed.title, parsed.page_count, len(parsed.chunks), len(parsed.ocr_pages),
                parsed.edition, parsed.structure)
            await conn.execute(_ADVANCE_GENERATION)
            await conn.execute(_NOTIFY, document_id)
        return True

    async def get(self, document_id: uuid.UUID, scope: Collection[int] | None = None) -> DocumentInfo:
        """The document, if it is in ``scope`` (None: any); outside it, exactly as if it did not exist."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM documents WHERE id = $1 AND ($2::bigint[] IS NULL OR collection_id = ANY($2))",
            document_id, None if scope is None else list(scope))
        if row is None:
            raise NotFound(f"document {document_id} not found")
        return _info(row)

    async def find(self, document_id: uuid.UUID) -> DocumentInfo | None:
        try:
            return await self.get(document_id)
        except NotFound:
            return None

    async def list(self, scope: Collection[int], limit: int = 100, offset: int = 0) -> list[DocumentInfo]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM documents WHERE collection_id = ANY($3::bigint[])"
            " ORDER BY created_at DESC LIMIT $1 OFFSET $2", limit, offset, list(scope))
        return [_info(r) for r in rows]

    async def section(self, chunk_id: int, scope: Collection[int], limit: int = 80) -> dict[str, Any]:
        """The chunk's section (the chunks of its document under the same headings, in order, at most
        ``limit`` around it), for showing a cited passage where the original cannot be rendered."""
        rows = await self.pool.fetch(_SECTION_SQL, chunk_id, list(scope), limit)
        if not rows:
            raise NotFound(f"passage {chunk_id} not found")
        first = rows[0]
        return {"document_id": str(first["document_id"]), "title": first["title"], "source": first["source"],
                "doc_type": first["doc_type"], "section": list(first["heading_path"]), "chunk_id": chunk_id,
                "chunks": [{"id": r["id"], "text": r["text"], "page": r["page_start"], "page_end": r["page_end"]}
                           for r in rows]}

    async def ready_ids(self) -> list[uuid.UUID]:
        return [r["id"] for r in await self.pool.fetch(
            "SELECT id FROM documents WHERE status = 'ready' ORDER BY created_at")]

    async def delete(self, document_id: uuid.UUID) -> DocumentInfo:
        """Delete the document (and its original, if no other document uses it); returns what it was."""
        async with self.pool.acquire() as conn, conn.transaction():
            deleted = await conn.fetchrow(f"DELETE FROM documents WHERE id = $1 RETURNING {_COLUMNS}", document_id)
            if deleted is None:
                raise NotFound(f"document {document_id} not found")
            await drop_unused_originals(conn, [deleted["sha256"]])
            if deleted["status"] == "ready":
                await settle_editions(conn, deleted["collection_id"], deleted["product"])
                await conn.execute(_ADVANCE_GENERATION)
            await conn.execute(_NOTIFY, document_id)
        return _info(deleted)

    async def generation(self) -> str:
        """``<store id>:<n>``: n advances with every change to what retrieval can see."""
        return await self.pool.fetchval(
            "SELECT (SELECT value FROM store_meta WHERE key = 'store_id') || ':' ||"
            " (SELECT value FROM store_meta WHERE key = 'corpus_generation')")

    async def chunk_count(self) -> int:
        return int(await self.pool.fetchval(
            "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.status = 'ready'"))

"""Ingestion: check → record → parse and chunk (thread) → embed in batches → publish atomically."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePath

from tsa import metrics
from tsa.errors import DocumentError, PayloadTooLarge, TSAError
from tsa.ingest.chunking import ChunkingParams, chunk_blocks
from tsa.ingest.parsers import detect_type, parse_document
from tsa.records import Chunk, DocumentInfo, ParsedDocument
from tsa.store import DocumentStore, embedding_text

log = logging.getLogger(__name__)

Embed = Callable[..., Awaitable[list[list[float]]]]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Submission:
    document_id: uuid.UUID
    status: str  # "processing", or "ready" when identical content is already live
    duplicate: bool


def _parse_and_chunk(data: bytes, name: str, params: ChunkingParams) -> tuple[ParsedDocument, list[Chunk]]:
    parsed = parse_document(data, name)
    chunks = chunk_blocks(parsed.blocks, params)
    if not chunks:
        raise DocumentError("the document has headings but no text to index")
    return parsed, chunks


class IngestPipeline:
    def __init__(self, store: DocumentStore, embed: Embed, params: ChunkingParams, max_bytes: int) -> None:
        self.store = store
        self.embed = embed
        self.params = params
        self.max_bytes = max_bytes

    async def submit(self, name: str, data: bytes, collection_id: int | None = None) -> Submission:
        """Cheap checks and a ``processing`` record in the collection (None: the default one);
        the heavy work is ``process``."""
        name = PurePath(name).name or "upload"
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(f"{name} is {len(data)} bytes; the limit is {self.max_bytes} (MAX_UPLOAD_BYTES)")
        if not data.strip():
            raise DocumentError(f"{name} is empty")
        doc_type = detect_type(name, data).lstrip(".")
        sha256 = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        if collection_id is None:
            collection_id = await self.store.default_collection()
        live = await self.store.find_ready_by_sha(sha256, collection_id)
        if live is not None:
            return Submission(live.id, "ready", duplicate=True)
        document_id = await self.store.create_processing(name, sha256, doc_type, len(data), collection_id,
                                                         original=data)
        return Submission(document_id, "processing", duplicate=False)

    async def process(self, document_id: uuid.UUID, name: str, data: bytes,
                      progress: Progress | None = None) -> DocumentInfo:
        """Parse, embed and publish; on failure the document is marked failed and nothing else changes."""
        timer = metrics.INGEST_DURATION.time()
        try:
            with timer:
                parsed, chunks = await asyncio.to_thread(_parse_and_chunk, data, PurePath(name).name, self.params)
                if progress:
                    progress("parsed", 0, len(chunks))
                texts = [embedding_text(" > ".join(c.heading_path), c.text) for c in chunks]
                vectors = await self.embed(texts, (lambda d, t: progress("embedded", d, t)) if progress else None)
                result = await self.store.publish(document_id, parsed.title, parsed.page_count, chunks, vectors)
        except asyncio.CancelledError:
            await asyncio.shield(self.store.mark_failed(document_id, "interrupted: the service stopped"))
            raise
        except Exception as exc:
            reason = exc.message if isinstance(exc, TSAError) else f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, TSAError):
                log.exception("ingestion of %s failed", name)
            metrics.INGEST_DOCUMENTS.labels(outcome="failed").inc()
            await self.store.mark_failed(document_id, reason)
            return await self.store.get(document_id)
        metrics.INGEST_DOCUMENTS.labels(outcome="duplicate" if result.duplicate_of else "ready").inc()
        if result.duplicate_of is not None:
            return await self.store.get(result.duplicate_of)
        metrics.INGEST_CHUNKS.inc(len(chunks))
        return await self.store.get(document_id)

    async def ingest(self, name: str, data: bytes, progress: Progress | None = None,
                     collection_id: int | None = None) -> DocumentInfo:
        submission = await self.submit(name, data, collection_id)
        if submission.duplicate:
            return await self.store.get(submission.document_id)
        return await self.process(submission.document_id, name, data, progress)

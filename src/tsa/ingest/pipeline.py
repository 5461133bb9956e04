"""Ingestion: record and queue (``submit``); then, in a worker, parse in a child process, embed in
batches and publish atomically (``process``), reporting each stage as it goes."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePath

from tsa import metrics
from tsa.errors import DocumentError, NotFound, PayloadTooLarge, UnsupportedDocument
from tsa.ingest.chunking import ChunkingParams
from tsa.ingest.isolation import parse_isolated
from tsa.ingest.limits import ParseLimits
from tsa.ingest.parsers import detect_type
from tsa.jobs.queue import IngestQueue, JobPriority
from tsa.records import DocumentInfo
from tsa.store import DocumentStore, OriginalStore, embedding_text
from tsa.store.documents import Parsed

log = logging.getLogger(__name__)

Embed = Callable[..., Awaitable[list[list[float]]]]
# Progress is written at most this often per document (and at every change of stage).
PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True)
class Submission:
    document_id: uuid.UUID
    status: str  # "processing", or "ready" when identical content is already live
    duplicate: bool


@dataclass(frozen=True)
class IngestOptions:
    params: ChunkingParams
    max_bytes: int
    limits: ParseLimits
    use_ocr: bool = True


class _Reporter:
    """Writes a document's counts to the store, throttled; stage changes always go through."""

    def __init__(self, store: DocumentStore, document_id: uuid.UUID) -> None:
        self.store, self.document_id = store, document_id
        self._last = 0.0
        self._pending: set[asyncio.Task[None]] = set()

    async def stage(self, stage: str, **counts: tuple[int, int | None]) -> None:
        self._last = time.monotonic()
        await self.store.progress(self.document_id, stage, **counts)

    def count(self, **counts: tuple[int, int | None]) -> None:
        """From synchronous callbacks: schedule a write unless one went out just now."""
        done, total = next(iter(counts.values()))
        if time.monotonic() - self._last < PROGRESS_EVERY_S and done != total:
            return
        self._last = time.monotonic()
        task = asyncio.get_running_loop().create_task(self.store.progress(self.document_id, **counts))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settle(self) -> None:
        await asyncio.gather(*self._pending, return_exceptions=True)


class IngestPipeline:
    def __init__(self, store: DocumentStore, originals: OriginalStore, embed: Embed, options: IngestOptions,
                 queue: IngestQueue | None = None) -> None:
        self.store = store
        self.originals = originals
        self.embed = embed
        self.options = options
        self.queue = queue

    async def submit(self, name: str, data: bytes, collection_id: int | None = None, *,
                     priority: JobPriority = JobPriority.UPLOAD, product: str | None = None,
                     edition: str | None = None, enqueue: bool = True) -> Submission:
        """Cheap checks, the original stored and a ``queued`` record in the collection (None: the
        default one), and a job for it on the queue."""
        name = PurePath(name).name or "upload"
        if len(data) > self.options.max_bytes:
            raise PayloadTooLarge(f"{name} is {len(data)} bytes; the limit is {self.options.max_bytes} "
                                  "(MAX_UPLOAD_BYTES)")
        if not data.strip():
            raise DocumentError(f"{name} is empty")
        doc_type = detect_type(name, data).lstrip(".")
        sha256 = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        if collection_id is None:
            collection_id = await self.store.default_collection()
        for twin in (await self.store.find_ready_by_sha(sha256, collection_id),
                     await self.store.find_unfinished_by_sha(sha256, collection_id)):
            if twin is not None:
                return Submission(twin.id, twin.status, duplicate=True)
        document_id = await self.store.create_processing(name, sha256, doc_type, len(data), collection_id,
                                                         original=data, product=product, edition=edition)
        if enqueue and self.queue is not None:
            await self.enqueue(document_id, priority)
        return Submission(document_id, "processing", duplicate=False)

    async def enqueue(self, document_id: uuid.UUID, priority: JobPriority, *, reparse: bool = False) -> int:
        assert self.queue is not None
        job_id = await self.queue.defer(document_id, priority, reparse=reparse)
        await self.store.set_job(document_id, job_id)
        if reparse:  # a live document shows it is waiting to be parsed again
            await self.store.progress(document_id, "queued")
        return job_id

    async def delete(self, document_id: uuid.UUID) -> DocumentInfo:
        """Delete the document; a job still working on it is stopped (its parsing process killed)."""
        deleted = await self.store.delete(document_id)
        if self.queue is not None and deleted.job_id is not None and deleted.stage not in ("ready", "failed"):
            await self.queue.cancel(deleted.job_id)
        return deleted

    async def process(self, document_id: uuid.UUID, *, reparse: bool = False, attempt: int = 0) -> DocumentInfo | None:
        """Parse, embed and publish (or, with ``reparse``, swap a live document's chunks).

        A file the service cannot use fails the document once, with the reason; transient trouble
        (the fleet or the database away) raises, for the queue to retry. None: the document is gone."""
        document = await self.store.find(document_id)
        wanted = "ready" if reparse else "processing"
        if document is None or document.status != wanted:
            return document  # deleted, or finished by an earlier attempt of this job
        reporter = _Reporter(self.store, document_id)
        try:
            with metrics.INGEST_DURATION.time():
                parsed = await self._parse_and_embed(document, reporter, attempt)
        except (DocumentError, UnsupportedDocument) as exc:
            await reporter.settle()
            return await self._failed(document, exc.message, reparse)
        finally:
            await reporter.settle()
        await reporter.stage("publishing", chunks=(len(parsed.chunks), len(parsed.chunks)))
        with metrics.INGEST_STAGE_DURATION.labels(stage="publishing").time():
            if reparse:
                await self.store.replace_chunks(document_id, parsed)
                result = None
            else:
                result = await self.store.publish(document_id, parsed)
        if result is not None and result.duplicate_of is not None:
            metrics.INGEST_DOCUMENTS.labels(outcome="duplicate").inc()
            return await self.store.find(result.duplicate_of)
        metrics.INGEST_DOCUMENTS.labels(outcome="reparsed" if reparse else "ready").inc()
        metrics.INGEST_CHUNKS.inc(len(parsed.chunks))
        metrics.INGEST_OCR_PAGES.inc(len(parsed.ocr_pages))
        return await self.store.find(document_id)

    async def _parse_and_embed(self, document: DocumentInfo, reporter: _Reporter, attempt: int) -> Parsed:
        options = self.options
        await self.store.progress(document.id, "parsing", pages=(0, document.page_count), chunks=(0, None),
                                  attempt=attempt + 1)
        size = await self.originals.size(document.sha256)
        if size is None:
            raise DocumentError("the original file is not stored (ingested by a release that did not keep "
                                "originals); upload it again")
        started = time.monotonic()
        with metrics.INGEST_STAGE_DURATION.labels(stage="parsing").time():
            result = await parse_isolated(
                self.originals.read(document.sha256, 0, size - 1), document.source, options.limits, options.params,
                options.use_ocr, lambda done, total: reporter.count(pages=(done, total)))
        await reporter.settle()
        total = len(result.chunks)
        await reporter.stage("embedding", chunks=(0, total))
        texts = [embedding_text(" > ".join(c.heading_path), c.text) for c in result.chunks]
        with metrics.INGEST_STAGE_DURATION.labels(stage="embedding").time():
            vectors = await self.embed(texts, lambda done, _total: reporter.count(chunks=(done, total)))
        await reporter.settle()
        log.debug("%s: parsed and embedded in %.1f s", document.source, time.monotonic() - started)
        return Parsed(result.title, result.page_count, result.chunks, vectors, result.ocr_pages, result.edition,
                      result.structure)

    async def _failed(self, document: DocumentInfo, reason: str, reparse: bool) -> DocumentInfo | None:
        if reparse:  # the live chunks stay; the reason is shown until the next successful parse
            await self.store.progress(document.id, "ready", error=f"re-parsing failed: {reason}")
        else:
            metrics.INGEST_DOCUMENTS.labels(outcome="failed").inc()
            await self.store.mark_failed(document.id, reason)
        return await self.store.find(document.id)

    async def ingest(self, name: str, data: bytes, collection_id: int | None = None, *,
                     product: str | None = None, edition: str | None = None) -> DocumentInfo:
        """Submit and process in this task, without the queue (tests, scripts)."""
        submission = await self.submit(name, data, collection_id, product=product, edition=edition, enqueue=False)
        if submission.duplicate:
            return await self.store.get(submission.document_id)
        info = await self.process(submission.document_id)
        if info is None:
            raise NotFound(f"document {submission.document_id} was deleted while it was being processed")
        return info

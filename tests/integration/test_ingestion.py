"""Ingestion end to end in-process: real parsing, engine embeddings and PostgreSQL."""

from __future__ import annotations

import dataclasses

import asyncio
import uuid

import pytest

from tests.documents import HTML, MARKDOWN, TEXT, docx_bytes, encrypted_pdf_bytes
from tsa.errors import DocumentError, PayloadTooLarge, UnsupportedDocument

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _counts(container) -> tuple[int, int]:
    docs = await container.pool.fetchval("SELECT count(*) FROM documents WHERE status = 'ready'")
    return docs, await container.documents.chunk_count()


async def test_sample_manual_is_indexed_with_pages_and_sections(container, sample_pdf):
    info = await container.pipeline.ingest("hf22-service-manual.pdf", sample_pdf)
    assert info.status == "ready" and info.page_count == 7 and info.chunk_count >= 10
    rows = await container.pool.fetch("SELECT page_start, heading_path, identifiers FROM chunks ORDER BY ordinal")
    seal = next(r for r in rows if r["heading_path"][-1:] == ["4.3 Replacing the mechanical seal"])
    assert seal["page_start"] == 5 and "SK-4471" in seal["identifiers"]


async def test_same_file_twice_is_not_duplicated(container, sample_pdf):
    first = await container.pipeline.ingest("manual.pdf", sample_pdf)
    before = await _counts(container)
    again = await container.pipeline.ingest("copy-of-manual.pdf", sample_pdf)
    assert again.id == first.id and await _counts(container) == before


async def test_changed_file_replaces_its_chunks_atomically(container):
    old = b"# Oil\n\nUse CXO-32 oil in the old compressor.\n"
    new = b"# Oil\n\nUse CXO-46 oil in the new compressor.\n"
    await container.pipeline.ingest("cx9.md", old)
    seen: list[int] = []
    stop = asyncio.Event()

    async def watch() -> None:  # the number of live versions must be 1 at every instant
        while not stop.is_set():
            seen.append(await container.pool.fetchval(
                "SELECT count(*) FROM documents d JOIN chunks c ON c.document_id = d.id "
                "WHERE d.source = 'cx9.md' AND d.status = 'ready'"))

    watcher = asyncio.create_task(watch())
    replaced = await container.pipeline.ingest("cx9.md", new)
    stop.set()
    await watcher
    assert replaced.status == "ready" and len(seen) > 5 and set(seen) == {1}
    texts = [r["text"] for r in await container.pool.fetch("SELECT text FROM chunks")]
    assert texts == ["Use CXO-46 oil in the new compressor."]


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "could not be read"),
    ("secret.pdf", None, "encrypted"),
])
async def test_corrupt_or_encrypted_files_fail_and_change_nothing(container, sample_pdf, name, data, reason):
    await container.pipeline.ingest("manual.pdf", sample_pdf)
    before = await _counts(container)
    info = await container.pipeline.ingest(name, data if data is not None else encrypted_pdf_bytes())
    assert info.status == "failed" and reason in info.error
    assert await _counts(container) == before


@pytest.mark.parametrize(("name", "data", "error"), [
    ("empty.txt", b"   \n", DocumentError), ("tool.exe", b"MZ\x90\x00", UnsupportedDocument)])
async def test_empty_or_unsupported_files_are_rejected_up_front(container, name, data, error):
    with pytest.raises(error):
        await container.pipeline.submit(name, data)
    assert await container.pool.fetchval("SELECT count(*) FROM documents") == 0


async def test_oversize_files_are_rejected(container):
    container.pipeline.options = dataclasses.replace(container.pipeline.options, max_bytes=1000)
    with pytest.raises(PayloadTooLarge, match="limit is 1000"):
        await container.pipeline.submit("big.txt", b"x" * 1001)


@pytest.mark.parametrize(("name", "data", "query", "section"), [
    ("cx9.md", MARKDOWN, "F-31", ("Compressor CX-9 Manual", "Fault codes")),
    ("dr4.html", HTML, "A-05 dew point", ("Dryer DR-4", "Alarms")),
    ("g12.txt", TEXT, "How do I stop the generator?", ("2 Stopping",)),
    ("coolant.docx", None, "DC-7 drain cock", ("Coolant System", "Draining the coolant")),
])
async def test_every_format_is_searchable_with_its_heading_path(container, name, data, query, section):
    info = await container.pipeline.ingest(name, data if data is not None else docx_bytes())
    assert info.status == "ready", info.error
    vector = (await container.embedder([query]))[0]
    hits = await container.retriever.search(query, vector, 3, await container.access.collections.all_ids())
    assert hits[0].heading_path == section


async def test_embeddings_are_requested_in_batches(container):
    container.pipeline.embed.embed.batch_size = 4
    calls: list[tuple[int, str]] = []
    real_embed = container.fleet.embed

    async def counting(model, texts, priority):
        calls.append((len(texts), priority.name))
        return await real_embed(model, texts, priority)

    container.fleet.embed = counting
    # Fresh text in every section, so no embedding comes from the cache.
    sections = "".join(f"## Part {n}\n\nCheck valve {uuid.uuid4().hex} before use.\n\n" for n in range(13))
    info = await container.pipeline.ingest("parts.md", f"# Parts\n\n{sections}".encode())
    sizes = [size for size, _ in calls]
    assert sum(sizes) == info.chunk_count and max(sizes) == 4 and len(sizes) == -(-info.chunk_count // 4)
    assert {priority for _, priority in calls} == {"BULK"}, "ingestion must queue behind interactive calls"

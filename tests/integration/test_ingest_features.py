"""Scanned pages, editions, re-parsing under load, progress events, and hostile files in a batch."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import uuid

import psutil
import pytest
from pypdf import PdfReader

from tests.documents import bomb_zip_bytes, docx_bytes, encrypted_pdf_bytes, scanned_pdf_bytes, zip_bytes
from tests.integration.conftest import serve_api, sse_events
from tests.integration.processes import start_worker, terminate
from tsa.container import container_worker
from tsa.ingest import ChunkingParams
from tsa.jobs import JobPriority
from tsa.rag import Question

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _page_with(pdf: bytes, text: str) -> int:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return next(n for n, page in enumerate(pages, start=1) if text in page.extract_text())


async def test_a_scanned_manual_is_read_by_ocr_and_cited_by_page(container, sample_pdf):
    scan = scanned_pdf_bytes(sample_pdf)
    assert not "".join(page.extract_text() for page in PdfReader(io.BytesIO(scan)).pages).strip()
    info = await container.pipeline.ingest("scanned-hf22.pdf", scan)
    assert info.status == "ready", info.error
    assert info.ocr_pages == info.page_count == len(PdfReader(io.BytesIO(scan)).pages)
    everything = await container.access.collections.all_ids()
    answer = await container.rag.ask(Question("What is the tightening torque of the impeller nut?", everything,
                                              max_tokens=24))
    async for _ in answer.pieces():
        pass
    expected = _page_with(sample_pdf, "Impeller nut")
    assert expected in [s["page"] for s in answer.sources]
    assert all(s["ocr"] for s in answer.sources)
    # A table keeps its rows and columns: the torque row reads across as in the manual.
    rows = [r["text"] for r in await container.pool.fetch("SELECT text FROM chunks WHERE page_start <= $1"
                                                          " AND coalesce(page_end, page_start) >= $1", expected)]
    assert any("Impeller nut" in text and "N" in text.split("Impeller nut", 1)[1].splitlines()[0] for text in rows)


def _edition(number: int, torque: int) -> bytes:
    return (f"# Dryer DR-4 service manual\n\nEdition {number}\n\n## Desiccant cartridge\n\n"
            f"Tighten the desiccant cartridge cap to {torque} N·m.\n").encode()


async def test_a_newer_edition_supersedes_the_older_in_answers(container):
    old = await container.pipeline.ingest("dr4-ed1.md", _edition(1, 12))
    new = await container.pipeline.ingest("dr4-ed2.md", _edition(2, 15))
    assert (old.edition, new.edition) == ("1", "2") and old.product == new.product
    old = await container.documents.get(old.id)
    assert old.superseded_by == new.id and old.status == "ready"
    everything = await container.access.collections.all_ids()
    query = "desiccant cartridge cap torque"
    current = await container.rag.retrieve(query, 5, everything)
    assert {h.document_id for h in current.hits} == {new.id}
    assert all(h.edition == "2" for h in current.hits)
    both = await container.rag.retrieve(query, 5, everything, include_superseded=True)
    assert {h.document_id for h in both.hits} == {old.id, new.id}
    assert {h.superseded for h in both.hits if h.document_id == old.id} == {True}
    # Deleting the newer edition makes the older current again.
    await container.pipeline.delete(new.id)
    again = await container.rag.retrieve(query, 5, everything)
    assert {h.document_id for h in again.hits} == {old.id}


async def test_an_edition_given_at_upload_beats_the_order_of_uploads(container):
    newer = await container.pipeline.ingest("a.md", b"# Heater H-3\n\nSet the thermostat to 60 C.\n",
                                            product="Heater H-3", edition="Rev. C")
    older = await container.pipeline.ingest("b.md", b"# Heater H-3\n\nSet the thermostat to 55 C.\n",
                                            product="Heater H-3", edition="Rev. B")
    assert (await container.documents.get(older.id)).superseded_by == newer.id
    assert (await container.documents.get(newer.id)).superseded_by is None


async def test_reparse_while_questions_are_answered(container):
    """Every document is parsed again with another chunk size while questions keep coming: none
    fails, and no answer mixes the old chunking of a document with the new."""
    sections = "".join(f"## Section {n}\n\nPart P-{n} fits valve V-{n}. " + "Filler text. " * 40 + "\n\n"
                       for n in range(12))
    documents = [await container.pipeline.ingest(f"m{n}.md", f"# Machine M-{n}\n\n{sections}".encode())
                 for n in range(4)]
    first_new_chunk = await container.pool.fetchval("SELECT max(id) FROM chunks") + 1
    everything = await container.access.collections.all_ids()
    stop = asyncio.Event()
    outcomes: list[str] = []

    async def ask_repeatedly() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            result = await container.rag.retrieve(f"Which valve does part P-{n % 12} fit?", 8, everything,
                                                  use_cache=False)
            by_document: dict[uuid.UUID, set[bool]] = {}
            for hit in result.hits:
                by_document.setdefault(hit.document_id, set()).add(hit.chunk_id >= first_new_chunk)
            outcomes.append("mixed" if any(len(kinds) > 1 for kinds in by_document.values()) else
                            "empty" if not result.hits else "ok")

    container.pipeline.options = dataclasses.replace(container.pipeline.options,
                                                     params=ChunkingParams(max_chars=300, overlap_chars=50))
    askers = [asyncio.create_task(ask_repeatedly()) for _ in range(3)]
    try:
        async with container_worker(container):
            for document in documents:
                await container.pipeline.enqueue(document.id, JobPriority.REPARSE, reparse=True)
            for _ in range(600):
                infos = [await container.documents.get(d.id) for d in documents]
                if all(i.stage == "ready" and i.chunk_count != d.chunk_count for i, d in zip(infos, documents)):
                    break
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*askers)
    assert all(i.chunk_count > d.chunk_count for i, d in zip(infos, documents)), "smaller chunks, more of them"
    assert await container.pool.fetchval("SELECT count(*) FROM chunks WHERE id < $1", first_new_chunk) == 0
    assert outcomes and set(outcomes) == {"ok"}, {o: outcomes.count(o) for o in set(outcomes)}


async def test_progress_is_streamed_as_server_sent_events(container, api, sample_pdf):
    async with container_worker(container):
        upload = await api.post("/api/documents", files={"file": ("hf22.pdf", sample_pdf)})
        assert upload.status_code == 202
        document_id = upload.json()["document_id"]
        events = await sse_events(api, "GET", f"/api/documents/{document_id}/events")
    stages = [body["stage"] for name, body in events if name == "progress"]
    assert stages[-1] == "ready" and events[-1][0] == "end"
    assert stages == sorted(stages, key=["queued", "parsing", "embedding", "publishing", "ready"].index)
    last = events[-2][1]
    assert last["pages_done"] == last["pages_total"] == last["page_count"]
    assert last["chunks_done"] == last["chunks_total"] == last["chunk_count"]
    missing = await api.get(f"/api/documents/{uuid.uuid4()}/events")
    assert missing.status_code == 404


def _rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


async def test_hostile_files_in_a_batch_fail_one_by_one_with_memory_bounded(container, settings, tmp_path,
                                                                            sample_pdf):
    settings.max_upload_bytes = 4 * 1024 * 1024
    settings.worker_in_process = False
    container.pipeline.options = dataclasses.replace(container.pipeline.options, max_bytes=settings.max_upload_bytes)
    worker = start_worker(settings, tmp_path / "w", tmp_path / "worker.log")
    docx_bomb = bomb_zip_bytes("word/document.xml", 1024, {"[Content_Types].xml": b"<Types/>"})
    files = {
        "good.md": b"# Compressor CX-9\n\n## Oil\n\nUse CXO-46 oil.\n",
        "manual.pdf": sample_pdf,
        "corrupt.pdf": b"%PDF-1.7\n" + os.urandom(3000),
        "rc4.pdf": encrypted_pdf_bytes("RC4-128"),
        "aes.pdf": encrypted_pdf_bytes("AES-256"),
        "empty.txt": b"",
        "huge.txt": b"x" * (settings.max_upload_bytes + 1),
        "bomb.docx": docx_bomb,
        "ok.docx": docx_bytes(),
        "archive.zip": zip_bytes({"inside/dryer.md": b"# Dryer DR-4\n\nAlarm A-05: dew point too high.\n",
                                  "../../escape.md": b"# Escape\n\nclimbs out",
                                  "/etc/absolute.txt": b"absolute", "tool.exe": b"MZ\x90\x00",
                                  "nested.zip": zip_bytes({"a.md": b"# A\n\nb"})}),
        "bomb.zip": bomb_zip_bytes("zeros.txt", 1024),
    }
    api_before = _rss_mib(os.getpid())
    worker_peak = 0.0
    try:
        async with serve_api(container) as api:
            response = await api.post("/api/imports", files=[("files", (n, d)) for n, d in files.items()])
            assert response.status_code == 202, response.text
            results = {r["name"]: r for r in response.json()["files"]}
            queued = {name: r["document_id"] for name, r in results.items() if "document_id" in r}
            for _ in range(1200):
                worker_peak = max(worker_peak, _rss_mib(worker.pid))
                states = {n: (await api.get(f"/api/documents/{i}")).json() for n, i in queued.items()}
                if all(s["status"] != "processing" for s in states.values()):
                    break
                await asyncio.sleep(0.1)
    finally:
        terminate(worker)
    errors = {name: r["error"]["message"] for name, r in results.items() if "error" in r}
    failed = {name: s["error"] for name, s in states.items() if s["status"] == "failed"}
    ready = sorted(name for name, s in states.items() if s["status"] == "ready")
    assert ready == ["archive.zip/inside/dryer.md", "good.md", "manual.pdf", "ok.docx"]
    assert "empty" in errors["empty.txt"] and "limit" in errors["huge.txt"]
    assert "climbs out" in errors["archive.zip/../../escape.md"]
    assert "absolute" in errors["archive.zip//etc/absolute.txt"]
    assert "unsupported" in errors["archive.zip/tool.exe"] and "inside an archive" in errors["archive.zip/nested.zip"]
    assert "unpacks to" in errors["bomb.zip/zeros.txt"]
    assert "encrypted" in failed["rc4.pdf"] and "encrypted" in failed["aes.pdf"]
    assert "could not be read" in failed["corrupt.pdf"]
    assert "decompression bomb" in failed["bomb.docx"]
    # Memory: the API read each file once, the worker never held a parser's memory.
    assert _rss_mib(os.getpid()) - api_before < 300
    assert worker_peak < 400, worker_peak

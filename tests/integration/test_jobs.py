"""Ingestion as durable jobs: workers die, services restart, documents still end ready exactly once."""

from __future__ import annotations

import asyncio
import signal
import uuid

import httpx
import pytest

from tests.integration.conftest import new_user
from tests.integration.processes import parsing_processes, start_serve, start_worker, terminate
from tsa import metrics
from tsa.container import container_worker, open_container
from tsa.jobs import JobPriority
from tsa.records import DocumentInfo

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def manual(sections: int, tag: str = "") -> bytes:
    """A Markdown manual with one chunk per section, every text new (nothing comes from the cache)."""
    body = "".join(f"## Step {n}\n\nTighten bolt B-{n} to {n + 10} N·m. {tag} {uuid.uuid4().hex}\n\n"
                   for n in range(sections))
    return f"# Long manual {tag}\n\n{body}".encode()


@pytest.fixture
async def slow_settings(settings, engines):
    """The benchmark models with slow embeddings (a document takes seconds), fast heartbeats."""
    engine = (await engines(1, "--bench-embed-ms", "150", "--bench-token-ms", "1"))[0]
    settings.ollama_instances = [engine.url]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    settings.min_similarity = -1.0
    settings.embed_batch_size = 2
    settings.worker_heartbeat_s, settings.worker_stalled_after_s = 0.5, 2.0
    settings.worker_shutdown_grace_s = 0.5
    settings.worker_in_process = False
    return settings


async def until(container, document_id: uuid.UUID, done, seconds: float = 120) -> DocumentInfo:
    for _ in range(int(seconds * 10)):
        info = await container.documents.find(document_id)
        if info is not None and done(info):
            return info
        await asyncio.sleep(0.1)
    raise AssertionError(f"document {document_id} never got there: {info}")


def finished(info: DocumentInfo) -> bool:
    return info.stage in ("ready", "failed")


async def chunk_ordinals(container, document_id: uuid.UUID) -> list[int]:
    return [r["ordinal"] for r in await container.pool.fetch(
        "SELECT ordinal FROM chunks WHERE document_id = $1 ORDER BY ordinal", document_id)]


async def test_a_document_whose_worker_is_killed_ends_ready_exactly_once(slow_settings, tmp_path):
    async with open_container(slow_settings) as container:
        submission = await container.pipeline.submit("long.md", manual(40))
        worker = start_worker(slow_settings, tmp_path / "w1", tmp_path / "worker.log")
        try:
            await until(container, submission.document_id, lambda d: d.stage == "embedding" and d.chunks_done > 0)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        assert (await container.documents.get(submission.document_id)).status == "processing"
        recovered = metrics.INGEST_STALLED_RECOVERED._value.get()
        async with container_worker(container):
            info = await until(container, submission.document_id, finished)
        assert info.status == "ready" and info.attempts >= 2, info
        assert await chunk_ordinals(container, submission.document_id) == list(range(info.chunk_count))
        assert await container.pool.fetchval("SELECT count(*) FROM documents") == 1
        assert metrics.INGEST_STALLED_RECOVERED._value.get() == recovered + 1


async def test_deleting_a_document_stops_its_processing(slow_settings):
    async with open_container(slow_settings) as container, container_worker(container):
        submission = await container.pipeline.submit("long.md", manual(60))
        info = await until(container, submission.document_id, lambda d: d.stage == "embedding")
        await container.pipeline.delete(submission.document_id)
        for _ in range(100):
            status = await container.pool.fetchval("SELECT status FROM procrastinate_jobs WHERE id = $1", info.job_id)
            if status in ("aborted", "cancelled"):
                break
            await asyncio.sleep(0.1)
        assert status in ("aborted", "cancelled")
        assert await container.pool.fetchval("SELECT count(*) FROM chunks") == 0


async def test_deleting_a_document_stops_its_parsing_process(slow_settings, sample_pdf):
    from tests.documents import scanned_pdf_bytes

    async with open_container(slow_settings) as container, container_worker(container):
        # OCR takes seconds a page: the parsing process is certainly running when the document goes.
        submission = await container.pipeline.submit("scan.pdf", scanned_pdf_bytes(sample_pdf))
        await until(container, submission.document_id, lambda d: d.stage == "parsing")
        for _ in range(100):
            if parsing_processes():
                break
            await asyncio.sleep(0.1)
        assert parsing_processes(), "the document is parsed in a child process"
        await container.pipeline.delete(submission.document_id)
        for _ in range(100):
            if not parsing_processes():
                break
            await asyncio.sleep(0.1)
        assert parsing_processes() == []


async def test_single_uploads_run_before_bulk_imports(slow_settings):
    slow_settings.worker_concurrency = 1
    async with open_container(slow_settings) as container:
        bulk = [(await container.pipeline.submit(f"bulk-{n}.md", manual(3, f"bulk {n}"),
                                                 priority=JobPriority.BULK)).document_id for n in range(4)]
        single = (await container.pipeline.submit("urgent.md", manual(3, "urgent"))).document_id
        async with container_worker(container):
            for document_id in [*bulk, single]:
                await until(container, document_id, finished)
        order = [r["id"] for r in await container.pool.fetch(
            "SELECT id FROM documents ORDER BY progress_at")]
        assert order[0] == single, "the upload a person waits for goes first"


async def test_a_transient_failure_is_retried_and_a_bad_file_is_not(slow_settings, engines):
    slow_settings.ingest_retry_base_s = 0.2
    async with open_container(slow_settings) as container:
        real_embed = container.pipeline.embed
        calls = 0

        async def flaky(texts, progress=None):
            nonlocal calls
            calls += 1
            if calls == 1:
                from tsa.errors import BackendUnavailable
                raise BackendUnavailable("no LLM instance is reachable")
            return await real_embed(texts, progress)

        container.pipeline.embed = flaky
        good = (await container.pipeline.submit("good.md", manual(2))).document_id
        bad = (await container.pipeline.submit("bad.pdf", b"%PDF-1.4 not really a pdf")).document_id
        retried = metrics.INGEST_JOBS.labels("retried")._value.get()
        async with container_worker(container):
            good_info = await until(container, good, finished)
            bad_info = await until(container, bad, finished)
        assert good_info.status == "ready" and good_info.attempts == 2
        assert bad_info.status == "failed" and bad_info.attempts == 1 and "could not be read" in bad_info.error
        assert metrics.INGEST_JOBS.labels("retried")._value.get() == retried + 1


async def test_ten_queued_uploads_survive_a_restart_of_serve(slow_settings, tmp_path):
    slow_settings.worker_in_process = True
    slow_settings.worker_concurrency = 1
    async with open_container(slow_settings) as container:
        key = (await new_user(container, "admin"))["headers"]
        server, base = await start_serve(slow_settings, tmp_path / "home", tmp_path / "serve.log")
        try:
            async with httpx.AsyncClient(base_url=base, headers=key, timeout=60) as http:
                ids = []
                for n in range(10):
                    response = await http.post("/api/documents", files={"file": (f"m{n}.md", manual(12, str(n)))})
                    assert response.status_code == 202, response.text
                    ids.append(uuid.UUID(response.json()["document_id"]))
            await until(container, ids[0], lambda d: d.stage == "embedding")
        finally:
            terminate(server)
        waiting = [d for d in [await container.documents.get(i) for i in ids] if d.status == "processing"]
        assert len(waiting) >= 8, "most uploads were still queued when serve stopped"
        server, _ = await start_serve(slow_settings, tmp_path / "home", tmp_path / "serve.log")
        try:
            infos = [await until(container, i, finished, seconds=240) for i in ids]
        finally:
            terminate(server)
        assert [i.status for i in infos] == ["ready"] * 10
        assert await container.pool.fetchval("SELECT count(*) FROM documents") == 10


async def test_restarting_one_replica_does_not_fail_the_others_work(slow_settings, tmp_path):
    """Two `tsa serve` replicas and a `tsa worker` on one external database; replica A is killed
    mid-work and restarted. Nothing anyone uploaded fails, and nothing is processed twice."""
    slow_settings.worker_in_process = True
    slow_settings.worker_concurrency = 1
    async with open_container(slow_settings) as container:
        key = (await new_user(container, "admin"))["headers"]
        replica_a, base_a = await start_serve(slow_settings, tmp_path / "a", tmp_path / "a.log")
        replica_b, base_b = await start_serve(slow_settings, tmp_path / "b", tmp_path / "b.log")
        worker = start_worker(slow_settings, tmp_path / "w", tmp_path / "w.log")
        ids: list[uuid.UUID] = []
        try:
            for base in (base_a, base_b):
                async with httpx.AsyncClient(base_url=base, headers=key, timeout=60) as http:
                    for n in range(4):
                        response = await http.post("/api/documents",
                                                   files={"file": (f"{base[-5:]}-{n}.md", manual(10, f"{base} {n}"))})
                        assert response.status_code == 202
                        ids.append(uuid.UUID(response.json()["document_id"]))
            await until(container, ids[0], lambda d: d.stage in ("embedding", "ready"))
            replica_a.send_signal(signal.SIGKILL)
            replica_a.wait(10)
            replica_a, _ = await start_serve(slow_settings, tmp_path / "a", tmp_path / "a.log",
                                             port=int(base_a.rsplit(":", 1)[1]))
            infos = [await until(container, i, finished, seconds=240) for i in ids]
        finally:
            for process in (replica_a, replica_b, worker):
                terminate(process)
        assert [(i.source, i.status, i.error) for i in infos if i.status != "ready"] == []
        for info in infos:
            assert await chunk_ordinals(container, info.id) == list(range(info.chunk_count))

"""Ingestion benchmark: a generated library of manuals through 1, 2 and 4 `tsa worker` processes.

    python -m bench.ingest [--documents 200] [--workers 1,2,4] [--embed-ms 20]

PostgreSQL and Redis are the embedded servers started here; four `tsa engine --bench` processes
embed (fixed service time per call, so the figures measure ingestion, not a model). For each
worker count the database starts empty, every manual is queued as a bulk import, and the
workers run until all are ready. Then, on a fresh database with 2 workers, a single 50-page
manual is uploaded once on an idle system and once while the whole bulk import runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from bench.common import ROOT, table
from bench.fleet import start_engines
from tsa.config import Settings
from tsa.container import open_container
from tsa.jobs import JobPriority
from tsa.runtime import EmbeddedServices
from tsa.runtime.children import stop

_WORDS = ("pump impeller seal bearing shaft casing valve filter gasket motor coupling housing pressure flow "
          "temperature torque bolt nut washer lubricant oil grease inspect replace tighten loosen remove install "
          "check clean drain fill adjust align measure record").split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + "."


def manual_pdf(path: Path, pages: int, seed: int) -> None:
    """A service manual: numbered sections, prose, procedures with notices, a torque table per section."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle(f"Model X-{seed} service manual")
    for page in range(1, pages + 1):
        y = 800
        pdf.setFont("Helvetica-Bold", 14)
        pdf.drawString(50, y, f"{page} Section {page} of model X-{seed}")
        y -= 30
        pdf.setFont("Helvetica", 10)
        while y > 120:
            kind = rng.random()
            if kind < 0.15:
                pdf.drawString(50, y, f"WARNING: {_sentence(rng)}")
                y -= 16
            elif kind < 0.35:
                for step in range(1, rng.randint(3, 6)):
                    pdf.drawString(60, y, f"{step}. {_sentence(rng)}"[:95])
                    y -= 14
            elif kind < 0.45:
                for row in range(rng.randint(3, 6)):
                    pdf.drawString(60, y, f"B-{seed}-{page}-{row}")
                    pdf.drawString(200, y, f"M{rng.choice((6, 8, 10, 12))}")
                    pdf.drawString(300, y, f"{rng.randint(5, 90)} N·m")
                    y -= 14
            else:
                for line in range(rng.randint(2, 5)):
                    pdf.drawString(50, y, _sentence(rng)[:100])
                    y -= 13
            y -= 8
        pdf.drawString(50, 40, f"Model X-{seed} — page {page}")
        pdf.showPage()
    pdf.save()


def corpus(folder: Path, documents: int, seed: int = 7) -> list[Path]:
    """``documents`` manuals of 5 to 60 pages (made once, kept between runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for n in range(documents):
        pages = rng.randint(5, 60)
        path = folder / f"manual-{n:04d}-{pages}p.pdf"
        if not path.exists():
            manual_pdf(path, pages, seed * 100_000 + n)
        paths.append(path)
    return paths


@dataclass
class Run:
    workers: int
    documents: int
    chunks: int
    seconds: float
    worker_peak_mib: float
    parser_peak_mib: float
    failed: int


class MemoryWatch:
    """Peak resident memory of each worker process, and of any of their parsing children."""

    def __init__(self, processes: list[subprocess.Popen[bytes]]) -> None:
        self.processes = [psutil.Process(p.pid) for p in processes]
        self.worker_peak = 0.0
        self.parser_peak = 0.0

    def sample(self) -> None:
        for process in self.processes:
            try:
                self.worker_peak = max(self.worker_peak, process.memory_info().rss / 2**20)
                for child in process.children(recursive=True):
                    self.parser_peak = max(self.parser_peak, child.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                pass


def worker_env(settings: Settings, home: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "OLLAMA_"))}
    env.update(DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               OLLAMA_INSTANCES=",".join(settings.ollama_instances), EMBEDDING_MODEL="bench-embed",
               CHAT_MODEL="bench-chat", TSA_HOME=str(home), WORKER_CONCURRENCY="1")
    return env


async def fresh_database(admin_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.replace("/postgres?", f"/{name}?")


async def wait_all(pool: asyncpg.Pool, watch: MemoryWatch | None = None) -> None:
    while await pool.fetchval("SELECT count(*) FROM documents WHERE status = 'processing'"):
        if watch:
            watch.sample()
        await asyncio.sleep(0.25)


def start_workers(count: int, settings: Settings, home: Path) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-m", "tsa", "worker", "--metrics-port", "0", "--log-level", "warning"],
                             env=worker_env(settings, home / f"w{n}"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for n in range(count)]


async def submit_all(container, files: list[Path], priority: JobPriority) -> list[uuid.UUID]:  # noqa: ANN001
    ids = []
    for path in files:
        data = await asyncio.to_thread(path.read_bytes)
        ids.append((await container.pipeline.submit(path.name, data, priority=priority)).document_id)
    return ids


async def bulk_run(base: Settings, admin_url: str, files: list[Path], workers: int, home: Path) -> Run:
    settings = base.model_copy(update={"database_url": await fresh_database(admin_url)})
    async with open_container(settings) as container:
        await submit_all(container, files, JobPriority.BULK)
        started = time.perf_counter()
        processes = start_workers(workers, settings, home)
        watch = MemoryWatch(processes)
        try:
            await wait_all(container.pool, watch)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
        seconds = time.perf_counter() - started
        chunks = await container.pool.fetchval("SELECT count(*) FROM chunks")
        failed = await container.pool.fetchval("SELECT count(*) FROM documents WHERE status = 'failed'")
    return Run(workers, len(files), chunks, seconds, watch.worker_peak, watch.parser_peak, failed)


async def single_upload(container, manual: Path) -> float:  # noqa: ANN001
    started = time.perf_counter()
    (document_id,) = await submit_all(container, [manual], JobPriority.UPLOAD)
    while (await container.documents.get(document_id)).status == "processing":
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def latency_under_load(base: Settings, admin_url: str, files: list[Path], home: Path, folder: Path
                             ) -> tuple[float, float, int]:
    """Upload to ready of one 50-page manual: idle, and with the bulk import running (2 workers)."""
    manuals = [folder / f"single-{n}.pdf" for n in range(3)]
    for n, path in enumerate(manuals):
        if not path.exists():
            manual_pdf(path, 50, 900_000 + n)
    settings = base.model_copy(update={"database_url": await fresh_database(admin_url)})
    async with open_container(settings) as container:
        processes = start_workers(2, settings, home)
        try:
            await single_upload(container, manuals[0])  # warm-up: connections, caches, page cache
            idle = await single_upload(container, manuals[1])
            await submit_all(container, files, JobPriority.BULK)
            await asyncio.sleep(5)  # both workers busy with the import
            busy = await single_upload(container, manuals[2])
            waiting = await container.pool.fetchval("SELECT count(*) FROM documents WHERE status = 'processing'")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
    return idle, busy, waiting


async def main(args: argparse.Namespace) -> None:
    folder = ROOT / "bench" / ".corpus"
    files = corpus(folder, args.documents)
    pages = [int(p.stem.rsplit("-", 1)[1][:-1]) for p in files]
    print(f"corpus: {len(files)} manuals, {sum(pages)} pages (5–60 each, median {statistics.median(pages):.0f}), "
          f"{sum(p.stat().st_size for p in files) / 2**20:.0f} MiB", flush=True)
    with tempfile.TemporaryDirectory(prefix="tsa-bench-ingest-") as tmp:
        home = Path(tmp)
        runtime = EmbeddedServices(Settings(tsa_home=home / "services", database_url=None,
                                            ollama_instances=["http://unused"]), database_only=False)
        endpoints = await asyncio.to_thread(runtime.start)
        engines = await asyncio.to_thread(start_engines, home, [["--bench-embed-ms", str(args.embed_ms)]] * 4)
        try:
            base = Settings(tsa_home=home / "bench", database_url=endpoints.database_url,
                            redis_url=endpoints.redis_url, ollama_instances=[url for url, _ in engines],
                            embedding_model="bench-embed", chat_model="bench-chat", worker_in_process=False)
            runs = []
            for workers in args.workers:
                run = await bulk_run(base, endpoints.database_url, files, workers, home)
                runs.append(run)
                print(f"  {workers} worker(s): {run.seconds:.0f} s", flush=True)
            idle, busy, waiting = await latency_under_load(base, endpoints.database_url, files, home, folder)
        finally:
            for _, process in engines:
                stop(process)
            await asyncio.to_thread(runtime.stop)
    print()
    if runs:
        first = runs[0]
        print(table(["workers", "documents", "chunks", "seconds", "documents/min", "chunks/s", "scaling ×",
                     "peak worker MiB", "peak parser MiB", "failed"],
                    [[r.workers, r.documents, r.chunks, r.seconds, 60 * r.documents / r.seconds, r.chunks / r.seconds,
                      f"{first.seconds / r.seconds:.2f}", r.worker_peak_mib, r.parser_peak_mib, r.failed]
                     for r in runs]))
        print()
    print(table(["single 50-page upload", "seconds to ready"],
                [["idle system (2 workers, after a warm-up upload)", idle],
                 [f"during the bulk import ({waiting} still queued after)", busy], ["ratio", f"{busy / idle:.2f}×"]]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",") if x], default=[1, 2, 4],
                        help="worker counts to run the bulk import with ('' for none: only the single-upload test)")
    parser.add_argument("--embed-ms", type=float, default=20.0, help="bench-embed service time per call")
    asyncio.run(main(parser.parse_args()))

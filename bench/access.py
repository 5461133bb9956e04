"""Access benchmark: what authentication and the collection filter cost.

    python -m bench.access [--baseline-rev REV] [--chunks 10000] [--collections 50] [--queries 200]

1. Cached /api/rag-chat over HTTP with wrk, this version (API key, access check, rate limits,
   scoped cache keys) beside ``--baseline-rev`` (a release before accounts; run from a git
   worktree), interleaved twice, at 1 and 10 clients.
2. Uncached retrieval (the SQL of hybrid search) over ``--chunks`` chunks in ``--collections``
   collections: the previous release's unfiltered SQL, and this version's with 1 and with all
   collections readable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.cache import MANUAL, QUESTIONS, load, upload, wrk
from bench.common import ROOT, UNLIMITED, cpu_seconds, summary_ms, table, tsa_serve
from tsa.config import Settings
from tsa.runtime import database_only
from tsa.runtime.children import stop
from tsa.runtime.engine_process import start_engine
from tsa.store import HybridRetriever, create_pool, ensure_embedding_space, migrate
from tsa.store import search as search_sql
from tsa.store.pool import vector_literal

DIMS = 384
WORDS = ("pump seal impeller bolt torque casing bearing valve filter motor coupling gasket flange shaft "
         "pressure inlet outlet alarm fault E-17 E-22 HF-22 M8 replace inspect tighten drain flush").split()
# A manual's vocabulary is large: most words occur in few chunks, so a query matches a fraction of them.
VOCABULARY = WORDS + [f"term{n}" for n in range(5000)]


# --- 1. cached answers over HTTP ---------------------------------------------------------------

def _worktree(rev: str, where: Path, async_deps: bool) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev], check=True,
                   capture_output=True)
    if async_deps:  # this version's other per-request saving, so that only access is compared
        deps = where / "src" / "tsa" / "api" / "deps.py"
        deps.write_text(deps.read_text().replace("def get_container(", "async def get_container("))
    return where


async def _cached_rows(label: str, env: dict[str, str], home: Path, seconds: int) -> list[list[object]]:
    with tsa_serve(env) as served:
        async with httpx.AsyncClient(base_url=served.base, timeout=300, headers=served.headers) as http:
            await upload(http, MANUAL)
            bodies = [{"query": q, "max_tokens": 32} for q in QUESTIONS]
            await load(http, bodies, 10)  # fill the caches
        rows = []
        for clients in (1, 10):
            before = cpu_seconds(served.pid)
            measured = wrk(served, bodies, clients, seconds, home)
            # CPU per answer of tsa, PostgreSQL and Redis together: steady whatever the host's noise.
            rows.append([label, clients, *measured, 1000 * (cpu_seconds(served.pid) - before) / measured[0]])
        return rows


def _medians(rows: list[list[object]], labels: list[str]) -> list[list[object]]:
    """Per version and client count: the median over rounds of p50 and req/s, and the ratio to the first."""
    summary = []
    for clients in (1, 10):
        base: tuple[float, float, float] | None = None
        for label in labels:
            mine = [r for r in rows if r[0] == label and r[1] == clients]
            p50 = statistics.median(float(r[3]) for r in mine)
            rps = statistics.median(float(r[6]) for r in mine)
            cpu = statistics.median(float(r[8]) for r in mine)
            base = base or (p50, rps, cpu)
            summary.append([label, clients, len(mine), p50, p50 - base[0], rps, rps / base[1], cpu, cpu / base[2]])
    return summary


async def cached_answers(baseline_rev: str | None, async_deps: bool, rounds: int, seconds: int) -> str:
    with tempfile.TemporaryDirectory(prefix="tsa-access-bench-") as tmp:
        home = Path(tmp)
        engine_url, engine = await asyncio.to_thread(start_engine, home, 1, 0, 60.0,
                                                     ["--bench", "--bench-embed-ms", "5", "--bench-token-ms", "5"])
        env = {"OLLAMA_INSTANCES": engine_url, "EMBEDDING_MODEL": "bench-embed", "CHAT_MODEL": "bench-chat",
               "MIN_SIMILARITY": "-1", "INSTANCE_MAX_CONCURRENCY": "8", **UNLIMITED}
        versions = [("this version (API key)", env)]
        if baseline_rev:
            tree = _worktree(baseline_rev, home / "baseline", async_deps)
            label = f"{baseline_rev}{' + async dependency' if async_deps else ''} (no accounts)"
            versions.insert(0, (label, {**env, "PYTHONPATH": str(tree / "src")}))
        rows: list[list[object]] = []
        try:
            for _ in range(rounds):  # interleaved: the host's noise falls on both alike
                for label, version_env in versions:
                    rows += await _cached_rows(label, version_env, home, seconds)
        finally:
            stop(engine)
            if baseline_rev:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(home / "baseline")],
                               capture_output=True)
    each = table(["version", "clients", "requests", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors",
                  "CPU ms/answer"], rows)
    summary = table(["version", "clients", "rounds", "median p50 ms", "p50 added ms", "median req/s",
                     "req/s ratio", "CPU ms/answer", "CPU ratio"], _medians(rows, [label for label, _ in versions]))
    return f"{summary}\n\nEach round:\n\n{each}"


# --- 2. the collection filter in SQL ------------------------------------------------------------

@contextlib.contextmanager
def _without_filter() -> Iterator[None]:
    """The same retrieval with the collection filter replaced by a constant true (what the previous
    release ran): ``$3`` stays bound, the planner folds the predicate away."""
    names = ("_VECTOR_SQL", "_FULLTEXT_SQL", "_IDENTIFIER_SQL", "_BY_ID_SQL")
    saved = {name: getattr(search_sql, name) for name in names}
    for name, sql in saved.items():
        setattr(search_sql, name, re.sub(r"(c\.)?collection_id = ANY\((\$\d)::bigint\[\]\)",
                                         r"\2::bigint[] IS NOT NULL", sql))
    try:
        yield
    finally:
        for name, sql in saved.items():
            setattr(search_sql, name, sql)


def _unit_vector(rng: random.Random) -> list[float]:
    values = [rng.gauss(0, 1) for _ in range(DIMS)]
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


async def _fill(pool, chunks: int, collections: int, rng: random.Random) -> list[int]:
    await migrate(pool)
    await ensure_embedding_space(pool, "bench", DIMS)
    ids = [await pool.fetchval("INSERT INTO collections (name) VALUES ($1) RETURNING id", f"c{n}")
           for n in range(collections)]
    per_document = 50
    for start in range(0, chunks, per_document):
        collection = ids[(start // per_document) % collections]
        document = uuid.uuid4()
        await pool.execute("INSERT INTO documents (id, collection_id, source, title, sha256, doc_type, status,"
                           " size_bytes) VALUES ($1, $2, $3, $3, 'x', 'md', 'ready', 1)", document, collection,
                           f"{document}.md")
        await pool.executemany(
            "INSERT INTO chunks (document_id, collection_id, ordinal, text, identifiers, embedding)"
            " VALUES ($1, $2, $3, $4, '{}', $5::text::vector)",
            [(document, collection, n, " ".join(rng.choices(VOCABULARY, k=120)), vector_literal(_unit_vector(rng)))
             for n in range(per_document)])
    await pool.execute("ANALYZE")
    return ids


async def retrieval(chunks: int, collections: int, queries: int) -> str:
    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="tsa-access-sql-") as tmp:
        async with database_only(Settings(tsa_home=Path(tmp))) as database_url:
            pool = await create_pool(database_url)
            try:
                ids = await _fill(pool, chunks, collections, rng)
                retriever = HybridRetriever(pool)
                cases = {"previous release, no filter": None, "1 collection readable": ids[:1],
                         f"{collections} collections readable": ids}
                samples: dict[str, list[float]] = {name: [] for name in cases}
                for _ in range(queries):
                    query = " ".join(rng.choices(WORDS, k=2) + rng.choices(VOCABULARY, k=4))
                    vector = _unit_vector(rng)
                    for name, scope in cases.items():  # interleaved: drift hits every case alike
                        with _without_filter() if scope is None else contextlib.nullcontext():
                            started = time.perf_counter()
                            await retriever.search(query, vector, 5, scope or ids)
                            samples[name].append(time.perf_counter() - started)
            finally:
                await pool.close()
    base = summary_ms(samples["previous release, no filter"])["p50"]
    rows = []
    for name, values in samples.items():
        s = summary_ms(values)
        rows.append([name, len(values), s["p50"], s["p95"], s["p99"], s["p50"] / base])
    return table(["retrieval (vector + full text + fusion)", "queries", "p50 ms", "p95 ms", "p99 ms",
                  "p50 vs previous"], rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-rev", default=None, help="git revision to compare with (e.g. 808c849)")
    parser.add_argument("--baseline-async-deps", action="store_true",
                        help="give the baseline this version's async container dependency too")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per row")
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--collections", type=int, default=50)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-sql", action="store_true")
    args = parser.parse_args()
    print(f"# Access benchmark — {os.cpu_count()} cores\n")
    if not args.skip_http:
        print(f"## Cached /api/rag-chat (wrk, {args.seconds} s per row, {args.rounds} interleaved rounds)\n")
        print(await cached_answers(args.baseline_rev, args.baseline_async_deps, args.rounds, args.seconds), "\n")
    if not args.skip_sql:
        print(f"## Uncached retrieval SQL, {args.chunks} chunks in {args.collections} collections\n")
        print(await retrieval(args.chunks, args.collections, args.queries), "\n")


if __name__ == "__main__":
    asyncio.run(main())

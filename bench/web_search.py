"""Web search fallback benchmark: what searching the web adds to an answer.

    python -m bench.web_search [--runs 30]

A local web (``bench.web_pages``: search answers after 30 ms, five pages after 20–100 ms) stands in
for the internet. Two measurements:

1. Fetch and extraction of the five pages in parallel (``PageFetcher`` + trafilatura, in this
   process), against the slowest page's own delay (target: under 300 ms beyond it).
2. ``/api/rag-chat`` with ``web_search: always`` on ``tsa serve`` (embedded defaults, the local
   engine's embedding model): the fallback's own time (``timings_ms.web_ms``: search, fetch,
   extract, embed, rank), cold (new results and pages every question) and warm (the same
   questions again with ``cache: no-cache``, so the answer is generated anew but search results,
   pages and embeddings come from the web and embedding cache layers).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import free_port, summary_ms, table, tsa_serve
from bench.web_pages import PAGE_DELAYS_MS, SEARCH_DELAY_MS
from tsa.runtime.children import stop
from tsa.websearch.addresses import DomainRules
from tsa.websearch.extract import main_text
from tsa.websearch.fetch import PageFetcher


def start_web(home: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    log = open(home / "web.log", "w")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen([sys.executable, "-m", "bench.web_pages", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", process


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(200):
            try:
                await http.get(url)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def fetch_and_extract(web: str, runs: int) -> str:
    port = web.rsplit(":", 1)[1]
    fetcher = PageFetcher(timeout_s=5, allowed_private=frozenset({f"127.0.0.1:{port}"}))
    rules = DomainRules()

    async def one(url: str) -> str:
        page = await fetcher.fetch(url, rules)
        return (await asyncio.to_thread(main_text, page))[1]

    totals: list[float] = []
    try:
        for run in range(runs + 3):
            urls = [f"{web}/page/{delay}/{n}?run=x{run}" for n, delay in enumerate(PAGE_DELAYS_MS)]
            started = time.perf_counter()
            texts = await asyncio.gather(*(one(u) for u in urls))
            assert all("impeller clearance" in t for t in texts)
            if run >= 3:  # the first runs warm the interpreter and the connection pool
                totals.append(time.perf_counter() - started)
    finally:
        await fetcher.aclose()
    slowest = max(PAGE_DELAYS_MS) / 1000
    total, beyond = summary_ms(totals), summary_ms([t - slowest for t in totals])
    return table(["pages in parallel", "runs", "slowest page ms", "total p50 ms", "total p95 ms",
                  "beyond slowest p50 ms", "beyond slowest p95 ms", "target"],
                 [[len(PAGE_DELAYS_MS), runs, max(PAGE_DELAYS_MS), total["p50"], total["p95"], beyond["p50"],
                   beyond["p95"], "< 300 ms"]])


async def through_the_service(web: str, runs: int) -> str:
    port = web.rsplit(":", 1)[1]
    env = {"WEB_SEARCH_PROVIDER": "searxng", "WEB_SEARCH_URL": web, "WEB_FETCH_ALLOW_PRIVATE": f"127.0.0.1:{port}"}
    rows = []
    with tsa_serve(env) as served:
        async with httpx.AsyncClient(base_url=served.base, headers=served.headers, timeout=120) as api:
            async def ask(n: int, cache: str) -> dict:
                body = {"query": f"How is the impeller clearance checked? run-{n}", "web_search": "always",
                        "max_tokens": 1, "cache": cache}
                response = await api.post("/api/rag-chat", json=body)
                response.raise_for_status()
                return response.json()

            await ask(-1, "default")  # loads the embedding model
            for phase, cache in (("cold: new results and pages", "default"), ("warm: web and embedding caches",
                                                                               "no-cache")):
                answers = [await ask(n, cache) for n in range(runs)]
                assert all(a["web"]["outcome"] == "used" for a in answers), answers[0]["web"]
                web_ms = summary_ms([a["timings_ms"]["web_ms"] / 1000 for a in answers])
                rows.append([phase, runs, web_ms["p50"], web_ms["p95"], web_ms["max"]])
    return table(["fallback (search + fetch + extract + embed + rank)", "questions", "p50 ms", "p95 ms", "max ms"],
                 rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tsa-web-bench-") as tmp:
        web, process = start_web(Path(tmp))
        try:
            await wait_up(web + "/search?q=x")
            print(f"# Web search benchmark — local web: search {SEARCH_DELAY_MS} ms, pages {PAGE_DELAYS_MS} ms\n")
            print("## Fetch and extraction, five pages in parallel\n")
            print(await fetch_and_extract(web, args.runs), "\n")
            print("## The fallback inside an answer (`/api/rag-chat`, `web_search: always`)\n")
            print(await through_the_service(web, args.runs), "\n")
        finally:
            stop(process)


if __name__ == "__main__":
    asyncio.run(main())

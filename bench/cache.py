"""Cache benchmark: /api/rag-chat over HTTP, 30 concurrent clients, fully cached vs no-cache,
and per-layer hit rates on a replayed mixed workload.

    python -m bench.cache [--clients 30] [--cached-requests 3000] [--uncached-requests 300]

`tsa serve` runs as a subprocess on embedded PostgreSQL and Redis, in front of one
`tsa engine --bench` (bench-embed 5 ms per call, bench-chat 32 tokens at 5 ms), so the
uncached path has a fixed, known cost and the figures show what the cache removes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from bench.common import UNLIMITED, Served, summary_ms, table, tsa_serve
from tsa.runtime.children import stop
from tsa.runtime.engine_process import start_engine

MANUAL = """# Compressor CX-9 Service Manual

## Oil change
Use CXO-32 compressor oil. Change the oil every 1000 hours.

## Filter
Replace the intake filter IF-9 every 500 hours.

## Faults
Fault F-31 means the discharge temperature is too high. Clean the cooler.
"""
QUESTIONS = [f"{q} (variant {n})" for n in range(4) for q in (
    "Which oil does the compressor need?", "How often is the intake filter replaced?",
    "What does fault F-31 mean?", "When is the oil changed?", "What should I clean for F-31?")]


async def load(http: httpx.AsyncClient, bodies: list[dict], clients: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    failures = 0
    queue = iter(bodies)

    async def worker() -> None:
        nonlocal failures
        for body in queue:
            started = time.perf_counter()
            response = await http.post("/api/rag-chat", json=body)
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, time.perf_counter() - started, failures


async def upload(http: httpx.AsyncClient, text: str) -> None:
    document_id = (await http.post("/api/documents", files={"file": ("cx9.md", text.encode())})).json()[
        "document_id"]
    while (await http.get(f"/api/documents/{document_id}")).json()["status"] == "processing":
        await asyncio.sleep(0.05)


WRK_SCRIPT = """
local bodies = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/rag-chat", {["Content-Type"] = "application/json"%s}, bodies[(n %% #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.requests, summary.duration,
    summary.errors.status + summary.errors.timeout + summary.errors.connect + summary.errors.read))
end
"""


def wrk(served: Served, bodies: list[dict], clients: int, seconds: int, home: Path) -> list[object]:
    """Drive the load with wrk (C, 2 threads): a Python load generator would eat the CPU it measures."""
    script = home / "rag.lua"
    headers = "".join(f', ["{k}"] = "{v}"' for k, v in served.headers.items())
    script.write_text(WRK_SCRIPT % (", ".join("[[" + json.dumps(b) + "]]" for b in bodies), headers))
    base = served.base
    output = subprocess.run(["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{seconds}s", "--timeout", "120s", "-s", str(script),
                             base], capture_output=True, text=True, check=True).stdout
    p50, p95, p99, requests, duration_us, errors = map(int, output.split("RESULT")[1].split())
    return [requests, p50 / 1000, p95 / 1000, p99 / 1000, requests / (duration_us / 1e6), errors]


async def latency_wrk(served: Served, clients: int, home: Path) -> str:
    async with httpx.AsyncClient(base_url=served.base, timeout=300, headers=served.headers) as http:
        await upload(http, MANUAL)
        bodies = [{"query": q, "max_tokens": 32} for q in QUESTIONS]
        await load(http, bodies, clients)  # fill the caches
    rows = [[f"cached (all layers hit), {n} clients", *wrk(served, bodies, n, 10, home)] for n in (1, 10)]
    rows.append([f"cached (all layers hit), {clients} clients", *wrk(served, bodies, clients, 15, home)])
    rows.append([f"no-cache, {clients} clients",
                 *wrk(served, [{**b, "cache": "no-cache"} for b in bodies], clients, 30, home)])
    return table(["path", "requests", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors"], rows)


async def latency(served: Served, clients: int, cached_requests: int, uncached_requests: int) -> str:
    async with httpx.AsyncClient(base_url=served.base, timeout=300, limits=httpx.Limits(max_connections=100),
                                 headers=served.headers) as http:
        await upload(http, MANUAL)
        bodies = [{"query": q, "max_tokens": 32} for q in QUESTIONS]
        await load(http, bodies, clients)  # fill the caches
        rows = []
        for name, count, extra in (("cached (all layers hit)", cached_requests, {}),
                                   ("no-cache", uncached_requests, {"cache": "no-cache"})):
            replay = [{**bodies[n % len(bodies)], **extra} for n in range(count)]
            latencies, wall, failures = await load(http, replay, clients)
            s = summary_ms(latencies)
            rows.append([name, count, s["p50"], s["p95"], s["p99"], len(latencies) / wall, failures])
    return table(["path", "requests", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors"], rows)


async def hit_rates(served: Served, clients: int, requests: int, seed: int = 7) -> str:
    """60% repeated questions, 20% new questions on the same document, 20% after it changes."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=served.base, timeout=300, headers=served.headers) as http:
        await http.post("/api/advanced-cache-stats/reset")
        repeated = [{"query": q, "max_tokens": 32} for q in QUESTIONS]
        before_update = [rng.choice(repeated) if rng.random() < 0.75 else
                         {"query": f"Tell me about the compressor, case {n}", "max_tokens": 32}
                         for n in range(int(requests * 0.8))]
        await load(http, before_update, clients)
        await upload(http, MANUAL.replace("CXO-32", "CXO-46"))
        after_update = [rng.choice(repeated) for _ in range(requests - len(before_update))]
        await load(http, after_update, clients)
        layers = (await http.get("/api/advanced-cache-stats")).json()["layers"]
    return table(["layer", "hits", "misses", "hit rate %", "coalesced", "entries written", "est. time saved s"],
                 [[name, s["hits"], s["misses"], 100 * s["hit_rate"], s["coalesced"], s["entries_written"],
                   s["estimated_time_saved_ms"] / 1000] for name, s in layers.items()])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--cached-requests", type=int, default=3000)
    parser.add_argument("--uncached-requests", type=int, default=300)
    parser.add_argument("--workload-requests", type=int, default=1000)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tsa-cache-bench-") as tmp:
        engine_url, engine = await asyncio.to_thread(start_engine, Path(tmp), 1, 0, 60.0,
                                                     ["--bench", "--bench-embed-ms", "5", "--bench-token-ms", "5"])
        env = {"OLLAMA_INSTANCES": engine_url, "EMBEDDING_MODEL": "bench-embed", "CHAT_MODEL": "bench-chat",
               "MIN_SIMILARITY": "-1", "INSTANCE_MAX_CONCURRENCY": "8", **UNLIMITED}
        try:
            with tsa_serve(env) as served:
                print(f"# Cache benchmark — {args.clients} concurrent clients, /api/rag-chat over HTTP\n")
                if shutil.which("wrk"):
                    print(await latency_wrk(served, args.clients, Path(tmp)), "\n")
                else:  # slower: the load generator shares the CPU with the service
                    print(await latency(served, args.clients, args.cached_requests, args.uncached_requests), "\n")
            with tsa_serve(env) as served:
                print("## Mixed workload: 60% repeated, 20% new questions, 20% after a document update\n")
                print(await hit_rates(served, args.clients, args.workload_requests), "\n")
        finally:
            stop(engine)


if __name__ == "__main__":
    asyncio.run(main())

"""Foundation benchmark: ingestion throughput, /api/search latency, /api/rag-chat TTFT and total.

Runs against a `tsa serve` subprocess on the embedded defaults (PostgreSQL, Redis, local engine),
driven over HTTP from this process, one request at a time.

    python bench/foundation.py [--ingest-runs 10] [--queries 100] [--questions 10]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import httpx

from bench.common import ROOT, summary_ms, table, tsa_serve

SAMPLE = ROOT / "samples" / "hf22-service-manual.pdf"

SEARCH_QUERIES = [
    "E-17", "SK-4471", "M8x1.25", "HF-22-FC", "OR-3515", "PS-220",
    "How do I replace the mechanical seal?", "What torque for the impeller nut?",
    "how often should the bearings be greased", "pump delivers no water",
    "minimum inlet pressure", "what does error E-33 mean", "electrical connection star or delta",
    "safety before opening the casing", "weight of the pump", "replace filter cartridge steps",
    "sound pressure level", "dry running detected", "motor protection relay current", "spare parts list",
]
QUESTIONS = [
    "What torque do the casing bolts need?", "How do I replace the inlet filter cartridge?",
    "What does error E-17 mean?", "Which seal kit fits the HF-22?", "How often should the bearings be greased?",
    "What is the maximum liquid temperature?", "What should I check if the pump delivers no water?",
    "How do I connect the motor?", "What is the rated flow of the pump?", "When must the seal be replaced?",
]


def bench_ingest(http: httpx.Client, runs: int) -> tuple[list[list[object]], dict]:
    pdf = SAMPLE.read_bytes()
    durations, pages, chunks = [], 0, 0
    for run in range(runs):
        # A trailing PDF comment changes the checksum, not the content, so nothing is deduplicated.
        variant = pdf + f"\n%bench-run-{run}\n".encode()
        started = time.perf_counter()
        document_id = http.post("/api/documents", files={"file": (f"manual-{run}.pdf", variant)}).json()[
            "document_id"]
        while (doc := http.get(f"/api/documents/{document_id}").json())["status"] == "processing":
            time.sleep(0.01)
        durations.append(time.perf_counter() - started)
        assert doc["status"] == "ready", doc
        pages += doc["page_count"]
        chunks += doc["chunk_count"]
    total = sum(durations)
    stats = summary_ms(durations)
    row = [runs, pages // runs, chunks // runs, stats["p50"], stats["p95"], pages / total, chunks / total]
    return [row], {"pages_per_s": pages / total, "chunks_per_s": chunks / total}


def bench_search(http: httpx.Client, queries: int) -> list[list[object]]:
    for query in SEARCH_QUERIES:  # warm the embedding model and the connection
        http.post("/api/search", json={"query": query, "k": 5})
    latencies = []
    started = time.perf_counter()
    for n in range(queries):
        t0 = time.perf_counter()
        response = http.post("/api/search", json={"query": SEARCH_QUERIES[n % len(SEARCH_QUERIES)], "k": 5})
        latencies.append(time.perf_counter() - t0)
        assert response.status_code == 200 and response.json()["results"]
    elapsed = time.perf_counter() - started
    s = summary_ms(latencies)
    return [[s["n"], s["p50"], s["p95"], s["p99"], s["max"], queries / elapsed]]


def bench_chat(http: httpx.Client, questions: int, max_tokens: int) -> list[list[object]]:
    http.post("/api/rag-chat", json={"query": QUESTIONS[0], "max_tokens": 8})  # load the chat model
    ttft, total, tokens, generating_s = [], [], 0, 0.0
    for n in range(questions):
        body = {"query": QUESTIONS[n % len(QUESTIONS)], "stream": True, "max_tokens": max_tokens}
        started = time.perf_counter()
        first = None
        with http.stream("POST", "/api/rag-chat", json=body) as response:
            for line in response.iter_lines():
                if line == "event: token" and first is None:
                    first = time.perf_counter() - started
                if line.startswith("data: ") and '"usage"' in line:
                    tokens += json.loads(line[6:]).get("usage", {}).get("completion_tokens", 0)
        total.append(time.perf_counter() - started)
        ttft.append(first if first is not None else total[-1])
        generating_s += total[-1] - ttft[-1]
    t, a = summary_ms(ttft), summary_ms(total)
    return [["time to first token", t["n"], t["p50"], t["p95"], t["max"]],
            ["total (streamed answer)", a["n"], a["p50"], a["p95"], a["max"]],
            ["tokens / s after the first", tokens, tokens / generating_s if generating_s else 0.0, "", ""]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-runs", type=int, default=10)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    with tsa_serve() as served, httpx.Client(base_url=served.base, timeout=300, headers=served.headers) as http:
        ingest_rows, _ = bench_ingest(http, args.ingest_runs)
        search_rows = bench_search(http, args.queries)
        chat_rows = bench_chat(http, args.questions, args.max_tokens)
    print(f"# Foundation benchmark — {platform.machine()}, {__import__('os').cpu_count()} cores, "
          "embedded PostgreSQL + Redis + local engine (all-minilm, smollm2:135m)\n")
    print("## Ingestion (upload → ready, sample manual)\n")
    print(table(["runs", "pages", "chunks", "p50 ms", "p95 ms", "pages/s", "chunks/s"], ingest_rows))
    print("\n## /api/search (k=5, sequential, over HTTP)\n")
    print(table(["queries", "p50 ms", "p95 ms", "p99 ms", "max ms", "queries/s"], search_rows))
    print(f"\n## /api/rag-chat (stream, max_tokens={args.max_tokens}, sequential)\n")
    print(table(["measure", "n", "p50 ms (or rate)", "p95 ms", "max ms"], chat_rows))


if __name__ == "__main__":
    main()

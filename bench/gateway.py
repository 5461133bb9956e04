"""Gateway benchmark: the chat APIs through tsa and through LiteLLM's proxy, against direct calls.

    python -m bench.gateway [--litellm PATH_TO_LITELLM] [--requests N]

Two zero-latency Ollama-protocol backends (``bench.zero_ollama``) are called directly (client-side
round-robin), through the least a Python proxy can do (``bench.min_proxy``: the floor of the
language and server stack), through ``tsa serve`` and, when ``--litellm`` names its executable, through LiteLLM's
proxy (``simple-shuffle`` over the same two backends; install it in its own venv with
``pip install 'litellm[proxy]'``). Two workloads, at 1, 10 and 50 concurrent clients:

- ``/api/chat``, not streamed. LiteLLM has no balanced Ollama-shaped route, so its row is its own
  nearest equivalent: ``/v1/chat/completions`` not streamed.
- ``/v1/chat/completions``, streamed: total time and time to the first streamed chunk.

Everything — load generator, backends, tsa (with its embedded PostgreSQL and Redis), LiteLLM —
shares this machine's cores, so figures at 10 and 50 clients are CPU-bound. The paths take turns in
five rounds at each concurrency, so that the machine's own drift in speed meets every path alike.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import free_port, summary_ms, table
from bench.fleet import LITELLM_KEY, start_litellm, start_tsa, wait_http
from bench.raw_http import Connection, HTTPFailure, Reply
from tsa.runtime.children import stop

MESSAGES = [{"role": "user", "content": "What torque do the pump casing bolts need?"}]


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    first_chunks: list[float] = field(default_factory=list)
    failures: int = 0
    error: str = ""  # the last failure's reason


Call = Callable[["Pool", Sample], Awaitable[None]]


def start_backend(home: Path, n: int) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    log = open(home / f"backend-{n}.log", "w")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen([sys.executable, "-m", "bench.zero_ollama", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", process


def start_min_proxy(home: Path, urls: list[str]) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    log = open(home / "min-proxy.log", "w")  # noqa: SIM115 - owned by the process
    backends = [arg for url in urls for arg in ("--backend", url)]
    process = subprocess.Popen([sys.executable, "-m", "bench.min_proxy", "--port", str(port), *backends],
                               stdout=log, stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", process


class Pool:
    """One simulated client's connections, one per server it talks to."""

    def __init__(self) -> None:
        self.connections: dict[str, Connection] = {}

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Reply:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        connection = self.connections.get(base) or self.connections.setdefault(base, Connection(base))
        return await connection.post(parts.path, body, headers)

    async def close(self) -> None:
        for connection in self.connections.values():
            await connection.close()


def whole(url: Callable[[], str], body: dict[str, object], headers: dict[str, str]) -> Call:
    encoded = json.dumps(body).encode()

    async def call(pool: Pool, sample: Sample) -> None:
        started = time.perf_counter()
        json.loads((await pool.post(url(), encoded, headers)).body)
        sample.latencies.append(time.perf_counter() - started)
    return call


def streamed(url: Callable[[], str], body: dict[str, object], headers: dict[str, str]) -> Call:
    encoded = json.dumps(body).encode()

    async def call(pool: Pool, sample: Sample) -> None:
        started = time.perf_counter()
        reply = await pool.post(url(), encoded, headers)
        if not reply.body.rstrip().endswith(b"data: [DONE]"):
            raise HTTPFailure("the stream did not end with data: [DONE]")
        sample.latencies.append(time.perf_counter() - started)
        sample.first_chunks.append(reply.first_chunk_s)
    return call


async def run_load(call: Call, requests: int, concurrency: int) -> tuple[Sample, float]:
    sample = Sample()
    queue = iter(range(requests))

    async def worker() -> None:
        pool = Pool()
        for _ in queue:
            try:
                await call(pool, sample)
            except HTTPFailure as exc:
                sample.failures += 1
                sample.error = str(exc)
        await pool.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sample, time.perf_counter() - started


def paths(backends: list[str], tsa: str, tsa_key: str, litellm: str | None, floor: str
          ) -> dict[str, dict[str, Call]]:
    turn = itertools.count()

    def direct(path: str) -> Callable[[], str]:
        return lambda: backends[next(turn) % len(backends)] + path

    tsa_headers = {"Authorization": f"Bearer {tsa_key}"}
    lite_headers = {"Authorization": f"Bearer {LITELLM_KEY}"}
    chat = {"model": "bench-chat", "messages": MESSAGES, "stream": False}
    openai = {"model": "bench-chat", "messages": MESSAGES, "stream": True}
    workloads: dict[str, dict[str, Call]] = {
        "/api/chat, not streamed": {
            "direct": whole(direct("/api/chat"), chat, {}),
            "minimal Python proxy": whole(lambda: floor + "/api/chat", chat, {}),
            "tsa": whole(lambda: tsa + "/api/chat", chat, tsa_headers),
        },
        "/v1/chat/completions, streamed": {
            "direct": streamed(direct("/v1/chat/completions"), openai, {}),
            "minimal Python proxy": streamed(lambda: floor + "/v1/chat/completions", openai, {}),
            "tsa": streamed(lambda: tsa + "/v1/chat/completions", openai, tsa_headers),
        },
    }
    if litellm:
        workloads["/api/chat, not streamed"]["LiteLLM (/v1/chat/completions)"] = whole(
            lambda: litellm + "/v1/chat/completions", chat, lite_headers)
        workloads["/v1/chat/completions, streamed"]["LiteLLM"] = streamed(
            lambda: litellm + "/v1/chat/completions", openai, lite_headers)
    return workloads


ROUNDS = 5  # each path's requests, split into rounds taken in turn with the other paths'


async def compare(calls: dict[str, Call], requests: int, streaming: bool) -> str:
    """Every path at 1, 10 and 50 clients; "added" is against the first path (direct). The paths
    take turns in ``ROUNDS`` rounds, so a drift of the machine's speed meets every path alike."""
    rows = []
    for concurrency in (1, 10, 50):
        samples = {name: Sample() for name in calls}
        walls = dict.fromkeys(calls, 0.0)
        for call in calls.values():
            await run_load(call, 100, concurrency)  # warm connections and caches
        for _ in range(ROUNDS):
            for name, call in calls.items():
                sample, wall = await run_load(call, requests // ROUNDS, concurrency)
                samples[name].latencies += sample.latencies
                samples[name].first_chunks += sample.first_chunks
                samples[name].failures += sample.failures
                samples[name].error = sample.error or samples[name].error
                walls[name] += wall
        base: dict[str, float] = {}
        for name, sample in samples.items():
            if not sample.latencies:  # every call failed: say so instead of timing nothing
                rows.append([concurrency, name, *["-"] * (6 if streaming else 3), 0.0, sample.failures])
                print(f"{name} at {concurrency} clients: every call failed; the last: {sample.error}", file=sys.stderr)
                continue
            total = summary_ms(sample.latencies)
            row: list[object] = [concurrency, name, total["p50"], total["p99"]]
            base = base or {"p50": total["p50"]}
            row.append(total["p50"] - base["p50"])
            if streaming:
                first = summary_ms(sample.first_chunks)
                base.setdefault("first", first["p50"])
                row += [first["p50"], first["p99"], first["p50"] - base["first"]]
            rows.append([*row, len(sample.latencies) / walls[name], sample.failures])
    headers = ["clients", "path", "p50 ms", "p99 ms", "added p50 ms"]
    if streaming:
        headers += ["first chunk p50 ms", "first chunk p99 ms", "added first chunk p50 ms"]
    return table([*headers, "req/s", "errors"], rows)


async def measure(home: Path, litellm_executable: str | None, requests: int) -> list[str]:
    started = [start_backend(home, n) for n in range(2)]
    backends = [url for url, _ in started]
    processes = [p for _, p in started]
    tsa_url, tsa_process = start_tsa(home, backends, max_concurrency=64)
    floor_url, floor_process = start_min_proxy(home, backends)
    processes += [tsa_process, floor_process]
    lite_url = None
    if litellm_executable:
        lite_url, lite_process = start_litellm(litellm_executable, home, backends, "bench-chat",
                                               "ollama_chat/bench-chat")
        processes.append(lite_process)
    tables = []
    try:
        for url in backends:
            await wait_http(url + "/api/version")
        await wait_http(tsa_url + "/ready")
        await wait_http(floor_url + "/api/version")
        if lite_url:
            await wait_http(lite_url + "/health/liveliness")
        tsa_key = (home / "tsa" / "admin.key").read_text().strip()
        for workload, calls in paths(backends, tsa_url, tsa_key, lite_url, floor_url).items():
            tables.append(f"## {workload}\n\n" + await compare(calls, requests, streaming="not" not in workload))
    finally:
        for process in processes:
            stop(process)
    return tables


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--litellm", help="path of the litellm executable, to run it side by side")
    parser.add_argument("--requests", type=int, default=2000, help="requests per path and concurrency")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tsa-gateway-bench-") as tmp:
        print(f"# Gateway benchmark — {os.cpu_count()} cores, 2 zero-latency Ollama backends on loopback, "
              f"{args.requests} requests per row\n")
        for text in await measure(Path(tmp), args.litellm, args.requests):
            print(text, "\n")


if __name__ == "__main__":
    asyncio.run(main())

"""Fleet benchmark: balancer overhead, routing quality, embedding scaling.

    python -m bench.fleet [overhead|routing|scaling ...] [--litellm PATH_TO_LITELLM]

All backends are `tsa engine --bench` processes on loopback (benchmark models:
fixed service time, deterministic output), so the numbers measure routing and
proxying, not inference. LiteLLM runs side by side when ``--litellm`` names its
executable (install it in its own venv: ``pip install 'litellm[proxy]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bench.common import UNLIMITED, free_port, summary_ms, table
from tsa.errors import TSAError
from tsa.fleet import Fleet, FleetOptions, InstanceConfig, OllamaClient
from tsa.runtime.children import stop
from tsa.runtime.engine_process import start_engine

Call = Callable[[], Awaitable[object]]


def start_engines(home: Path, specs: list[list[str]]) -> list[tuple[str, subprocess.Popen[bytes]]]:
    return [start_engine(home, 1, 0, 60.0, ["--bench", *args]) for args in specs]


async def run_load(call: Call, requests: int, concurrency: int) -> tuple[list[float], int, float]:
    """Latencies of successful calls, the number of failed calls, and wall time."""
    latencies: list[float] = []
    failures = 0
    queue = iter(range(requests))

    async def worker() -> None:
        nonlocal failures
        for _ in queue:
            started = time.perf_counter()
            try:
                await call()
                latencies.append(time.perf_counter() - started)
            except (TSAError, httpx.HTTPError):
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures, time.perf_counter() - started


# --- overhead ---------------------------------------------------------------------------------

def start_tsa(home: Path, urls: list[str], max_concurrency: int = 8) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {**os.environ, "TSA_HOME": str(home / "tsa"), "OLLAMA_INSTANCES": ",".join(urls),
           "EMBEDDING_MODEL": "bench-embed", "CHAT_MODEL": "bench-chat",
           "INSTANCE_MAX_CONCURRENCY": str(max_concurrency),
           "QUEUE_MAX_WAITING": "4096", **UNLIMITED}
    log = open(home / "tsa.log", "w")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen([sys.executable, "-m", "tsa", "serve", "--port", str(port), "--log-level", "warning"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", process


LITELLM_KEY = "sk-bench-0123456789"


def start_litellm(executable: str, home: Path, urls: list[str], name: str = "bench-embed",
                  model: str = "ollama/bench-embed") -> tuple[str, subprocess.Popen[bytes]]:
    """LiteLLM's proxy over ``urls`` (one deployment each, simple-shuffle), serving ``name`` as ``model``."""
    port = free_port()
    config = home / "litellm.yaml"
    deployments = "".join(
        f"  - model_name: {name}\n    litellm_params:\n      model: {model}\n"
        f"      api_base: {url}\n" for url in urls)
    config.write_text(f"model_list:\n{deployments}router_settings:\n  routing_strategy: simple-shuffle\n")
    env = {**os.environ, "LITELLM_MASTER_KEY": LITELLM_KEY, "LITELLM_LOG": "ERROR"}
    log = open(home / "litellm.log", "w")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen([executable, "--config", str(config), "--port", str(port), "--num_workers", "1"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", process


async def wait_http(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{url} did not come up")


async def overhead(home: Path, litellm: str | None, requests: int) -> str:
    engines = await asyncio.to_thread(start_engines, home, [["--bench-embed-ms", "0"]] * 2)
    urls = [url for url, _ in engines]
    processes = [p for _, p in engines]
    tsa_url, tsa_process = start_tsa(home, urls)
    processes.append(tsa_process)
    lite_url = None
    if litellm:
        lite_url, lite_process = start_litellm(litellm, home, urls)
        processes.append(lite_process)
    rows = []
    try:
        await wait_http(f"{tsa_url}/ready")
        tsa_key = {"Authorization": f"Bearer {(home / 'tsa' / 'admin.key').read_text().strip()}"}
        if lite_url:
            await wait_http(f"{lite_url}/health/liveliness")
        fleet = Fleet([InstanceConfig(u, max_concurrency=8) for u in urls], FleetOptions(queue_max_waiting=4096))
        await fleet.start()
        clients = [OllamaClient(u) for u in urls]
        turn = itertools.count()
        body = {"model": "bench-embed", "input": ["The pump casing bolts need 25 N·m."]}
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as http:
            paths: dict[str, Call] = {
                "direct (client round-robin)": lambda: clients[next(turn) % 2].embed("bench-embed", body["input"]),
                "tsa fleet, in process": lambda: fleet.embed("bench-embed", body["input"]),
                "tsa proxy, HTTP /api/embed": lambda: _ok(http.post(f"{tsa_url}/api/embed", json=body,
                                                                    headers=tsa_key)),
            }
            if lite_url:
                paths["LiteLLM proxy, /v1/embeddings"] = lambda: _ok(http.post(
                    f"{lite_url}/v1/embeddings", json={"model": "bench-embed", "input": body["input"]},
                    headers={"Authorization": f"Bearer {LITELLM_KEY}"}))
            for concurrency in (1, 10, 50):
                direct_p50 = direct_p99 = 0.0
                for name, call in paths.items():
                    await run_load(call, 50, concurrency)  # warm connections and models
                    latencies, failures, wall = await run_load(call, requests, concurrency)
                    s = summary_ms(latencies)
                    if name.startswith("direct"):
                        direct_p50, direct_p99 = s["p50"], s["p99"]
                    rows.append([concurrency, name, s["p50"], s["p99"], s["p50"] - direct_p50,
                                 s["p99"] - direct_p99, len(latencies) / wall, failures])
        await fleet.aclose()
        for client in clients:
            await client.aclose()
    finally:
        for process in processes:
            stop(process)
    return table(["clients", "path", "p50 ms", "p99 ms", "added p50 ms", "added p99 ms", "req/s", "errors"], rows)


async def decision_cost(rounds: int = 20000) -> str:
    """The balancer's own work per call (candidates, power-of-two choice, slot bookkeeping), no I/O."""
    from tsa.fleet.admission import Priority

    fleet = Fleet([InstanceConfig(f"http://127.0.0.1:{9000 + n}") for n in range(8)])
    for instance in fleet.instances:
        instance.state = instance.state.HEALTHY
        instance.models_available = {"bench-embed:latest"}
        instance.models_loaded = {"bench-embed:latest"}
    started = time.perf_counter()
    for _ in range(rounds):
        instance = await fleet._acquire("bench-embed:latest", "embed", Priority.INTERACTIVE, [])
        fleet._release(instance)
    per_call_us = (time.perf_counter() - started) / rounds * 1e6
    await fleet.aclose()
    return table(["instances", "decisions", "µs per decision"], [[8, rounds, per_call_us]])


async def _ok(response: Awaitable[httpx.Response]) -> None:
    (await response).raise_for_status()


# --- routing quality -------------------------------------------------------------------------

class NaiveBalancer:
    """What a plain proxy does: pick by round-robin or at random, no health, no retries."""

    def __init__(self, urls: list[str], how: str, seed: int = 1) -> None:
        self.clients = [OllamaClient(u) for u in urls]
        self.how = how
        self.turn = itertools.count()
        self.rng = random.Random(seed)

    async def embed(self, texts: list[str]) -> object:
        n = next(self.turn) if self.how == "round-robin" else self.rng.randrange(len(self.clients))
        return await self.clients[n % len(self.clients)].embed("bench-embed", texts)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


async def routing(home: Path, requests: int, concurrency: int) -> str:
    specs = ([["--bench-embed-ms", "20"]] * 5 + [["--bench-embed-ms", "80"]] * 2
             + [["--bench-embed-ms", "20", "--fail-rate", "0.2"]])
    engines = await asyncio.to_thread(start_engines, home, specs)
    urls = [url for url, _ in engines]
    rows = []
    try:
        for name in ("round-robin", "random", "tsa fleet"):
            if name == "tsa fleet":
                fleet = Fleet([InstanceConfig(u, max_concurrency=4) for u in urls], FleetOptions())
                await fleet.start()
                balancer, closer = (lambda f=fleet: f.embed("bench-embed", ["text"])), fleet.aclose
            else:
                naive = NaiveBalancer(urls, name)
                balancer, closer = (lambda n=naive: n.embed(["text"])), naive.aclose
            await run_load(balancer, 200, concurrency)  # let EWMAs and error rates settle
            latencies, failures, wall = await run_load(balancer, requests, concurrency)
            await closer()
            s = summary_ms(latencies)
            rows.append([name, requests, s["p50"], s["p95"], s["p99"], 100 * failures / requests,
                         len(latencies) / wall])
    finally:
        for _, process in engines:
            stop(process)
    return table(["policy", "requests", "p50 ms", "p95 ms", "p99 ms", "client errors %", "req/s"], rows)


# --- scaling ---------------------------------------------------------------------------------

async def scaling(home: Path, seconds_per_step: float) -> str:
    engines = await asyncio.to_thread(start_engines, home, [["--bench-embed-ms", "20"]] * 8)
    urls = [url for url, _ in engines]
    rows, base = [], None
    try:
        for count in (1, 2, 4, 8):
            fleet = Fleet([InstanceConfig(u, max_concurrency=2) for u in urls[:count]],
                          FleetOptions(queue_max_waiting=4096))
            await fleet.start()
            requests = int(seconds_per_step * 50 * count)  # 50 calls/s per instance at 20 ms each
            latencies, failures, wall = await run_load(lambda f=fleet: f.embed("bench-embed", ["text"]),
                                                       requests, 2 * count)
            await fleet.aclose()
            rate = len(latencies) / wall
            base = base or rate
            s = summary_ms(latencies)
            rows.append([count, requests, rate, rate / base, s["p50"], s["p99"], failures])
    finally:
        for _, process in engines:
            stop(process)
    return table(["instances", "requests", "embeddings/s", "× one instance", "p50 ms", "p99 ms", "errors"], rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["overhead", "routing", "scaling"])
    parser.add_argument("--litellm", help="path of the litellm executable, to run it side by side")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tsa-fleet-bench-") as tmp:
        home = Path(tmp)
        print(f"# Fleet benchmark — {os.cpu_count()} cores, `tsa engine --bench` backends on loopback\n")
        if "overhead" in args.parts:
            print("## Overhead: 2 zero-latency backends, embeddings, added latency against direct calls\n")
            print(await overhead(home, args.litellm, args.requests // 2), "\n")
            print("Routing decision and slot bookkeeping alone (no network):\n")
            print(await decision_cost(), "\n")
        if "routing" in args.parts:
            print("## Routing quality: 8 instances, 2 of them 4× slower (80 ms vs 20 ms), 1 failing 20%;"
                  " 16 concurrent clients\n")
            print(await routing(home, args.requests, 16), "\n")
        if "scaling" in args.parts:
            print("## Scaling: embedding throughput, 20 ms service time, one call at a time per instance\n")
            print(await scaling(home, 4.0), "\n")


if __name__ == "__main__":
    asyncio.run(main())

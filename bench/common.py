"""Helpers shared by the benchmarks: a `tsa serve` subprocess, percentiles, tables."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# One key drives thousands of requests per second here: rate limits high enough never to refuse,
# still checked on every request so their cost is in the figures.
UNLIMITED = {"RATE_LIMIT_USER_PER_MINUTE": "1000000000", "RATE_LIMIT_KEY_PER_MINUTE": "1000000000",
             "RATE_LIMIT_BURST": "1000000"}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50": statistics.median(ms), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "max": max(ms)}


def table(headers: list[str], rows: list[list[object]]) -> str:
    def cell(value: object) -> str:
        return f"{value:.1f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its children (tsa serve with its PostgreSQL and Redis)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def free_port() -> int:
    from tsa.runtime.children import free_port as pick

    return pick()


@dataclass(frozen=True)
class Served:
    base: str
    pid: int
    # The first admin's key, which `tsa serve` creates on an empty embedded store (none for
    # releases before accounts existed, which ignore the header).
    headers: dict[str, str]
    home: Path | None = None


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 300) -> None:
    """Until ``base`` answers ``/ready`` with 200; its log as the error if the process exits first."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text())
        try:
            if httpx.get(base + "/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)


@contextmanager
def tsa_serve(extra_env: dict[str, str] | None = None) -> Iterator[Served]:
    """A `tsa serve` subprocess on the embedded defaults in a fresh TSA_HOME; yields its URL and key."""
    with tempfile.TemporaryDirectory(prefix="tsa-bench-") as home:
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "OLLAMA_INSTANCES")}
        env.update(TSA_HOME=home, **(extra_env or {}))
        log = open(Path(home) / "serve.log", "w")  # noqa: SIM115 - closed below
        server = subprocess.Popen([sys.executable, "-m", "tsa", "serve", "--port", str(port),
                                   "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, server, Path(home) / "serve.log")
            key_file = Path(home) / "admin.key"
            yield Served(base, server.pid, {"Authorization": f"Bearer {key_file.read_text().strip()}"}
                         if key_file.exists() else {}, Path(home))
        finally:
            server.terminate()
            server.wait(60)
            log.close()

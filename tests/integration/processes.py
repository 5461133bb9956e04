"""`tsa serve` and `tsa worker` as separate processes sharing the test's database, Redis and engines."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tsa.config import Settings
from tsa.runtime.children import free_port

# The settings a process needs to share the test's services (and a worker's pace).
_SHARED = ("database_url", "redis_url", "embedding_model", "chat_model", "embed_batch_size", "worker_heartbeat_s",
           "worker_stalled_after_s", "worker_shutdown_grace_s", "worker_concurrency", "ingest_retry_base_s",
           "min_similarity")


def process_env(settings: Settings, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "OLLAMA_"))}
    env.update({name.upper(): str(getattr(settings, name)) for name in _SHARED})
    env["OLLAMA_INSTANCES"] = ",".join(settings.ollama_instances)
    env["TSA_HOME"] = str(home)
    env.update(extra)
    return env


def start_tsa(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as output:
        return subprocess.Popen([sys.executable, "-m", "tsa", *args], env=env, stdout=output,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def start_worker(settings: Settings, home: Path, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    return start_tsa(["worker", "--metrics-port", "0", "--log-level", "warning"],
                     process_env(settings, home, **extra), log)


async def start_serve(settings: Settings, home: Path, log: Path, port: int | None = None, **extra: str
                      ) -> tuple[subprocess.Popen[bytes], str]:
    port = port or free_port()
    server = start_tsa(["serve", "--port", str(port), "--log-level", "warning"], process_env(settings, home, **extra),
                       log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            try:
                if (await http.get(f"{base}/ready")).status_code == 200:
                    return server, base
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"tsa serve never became ready:\n{log.read_text()}")


def terminate(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def parsing_processes() -> list[psutil.Process]:
    """The parsing children (tsa.ingest.sandbox) alive on this machine."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if "tsa.ingest.sandbox" in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found

"""The local engine as a child process, reached over HTTP like any Ollama server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tsa.runtime.children import free_port, spawn


def start_engine(home: Path, threads: int = 0, port: int = 0, wait_s: float = 60.0,
                 extra_args: list[str] | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """Blocking: run in a thread. Returns the engine's base URL and its process."""
    port = port or free_port()
    argv = [sys.executable, "-m", "tsa", "engine", "--host", "127.0.0.1", "--port", str(port),
            "--threads", str(threads), *(extra_args or [])]
    log = home / "logs" / f"engine-{port}.log"
    process = spawn(argv, log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local engine exited with {process.returncode}; see {log}")
        try:
            if httpx.get(url + "/api/version", timeout=1.0).status_code == 200:
                return url, process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the local engine did not answer within {wait_s} s; see {log}")

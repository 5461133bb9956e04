"""Drive the ``tsa`` command as a user would, in subprocesses with their own TSA_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONFIG_VARS = ("DATABASE_URL", "REDIS_URL", "OLLAMA_INSTANCES", "CHAT_MODEL", "EMBEDDING_MODEL")


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "tsa-home"


@pytest.fixture
def user_env(home) -> dict[str, str]:
    """Nothing configured: every server is the embedded default."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env["TSA_HOME"] = str(home)
    env["COLUMNS"] = "200"  # Rich tables wrap to the terminal width; keep rows on one line
    return env


def tsa(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tsa", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def processes_using(home: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(home) in cmdline:
            found.append(cmdline)
    return found


def serve_seeded(tmp_path: Path, env: dict[str, str], seed_name: str, seed_text: str
                 ) -> tuple[str, subprocess.Popen[bytes], Path]:
    """``tsa serve`` on a free port with one seed document queued (``--ingest``): its URL, process and log."""
    from tsa.runtime.children import free_port

    port = free_port()
    log = tmp_path / "serve.log"
    seed = tmp_path / "seed" / seed_name
    seed.parent.mkdir()
    seed.write_text(seed_text)
    with open(log, "w") as output:
        server = subprocess.Popen([sys.executable, "-m", "tsa", "serve", "--port", str(port),
                                   "--ingest", str(seed.parent)], env=env,
                                  stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return f"http://127.0.0.1:{port}", server, log

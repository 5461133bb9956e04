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

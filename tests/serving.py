"""Waiting for a `tsa serve` subprocess, shared by the end-to-end and browser tests."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_ready(base: str, server: subprocess.Popen, log: Path, seconds: float = 240) -> None:
    """Until ``/ready`` answers 200; fails with the server's log if it exits or never gets there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"tsa serve never became ready:\n{log.read_text()}")

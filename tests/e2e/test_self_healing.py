"""`tsa serve` on the embedded defaults heals itself: its engine, Redis and PostgreSQL are killed in
turn (SIGKILL), and each time the service is ready again and answers without anyone touching it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.conftest import processes_using, serve_seeded
from tests.serving import wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _child(server: subprocess.Popen, marker: str) -> psutil.Process:
    return next(p for p in psutil.Process(server.pid).children(recursive=True) if marker in " ".join(p.cmdline()))


def _postmaster(home: Path) -> psutil.Process:
    return psutil.Process(int((home / "postgres" / "postmaster.pid").read_text().splitlines()[0]))


def _until_healed(http: httpx.Client, seconds: float = 120) -> list[httpx.Response]:
    """Search until it answers 200; every answer on the way, so none may be a 500."""
    seen: list[httpx.Response] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            response = http.post("/api/search", json={"query": "impeller nut torque", "cache": "no-cache"})
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        seen.append(response)
        if response.status_code == 200 and http.get("/ready").status_code == 200:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"not healed: {[(r.status_code, r.text[:200]) for r in seen[-5:]]}")


def test_killed_engine_redis_and_postgres_are_restarted_and_the_service_answers(home, user_env, tmp_path):
    base, server, log = serve_seeded(tmp_path, {**user_env, "HEALTH_INTERVAL_S": "1"}, "pump.md",
                                     "# Pump P-7\n\n## Torques\n\nThe impeller nut needs 40 N·m.\n")
    try:
        wait_ready(base, server, log)
        key = (home / "admin.key").read_text().strip()
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}) as http:
            assert _until_healed(http)[-1].status_code == 200
            for name, victim in (("engine", lambda: _child(server, "tsa engine")),
                                 ("redis", lambda: _child(server, "redis-server")),
                                 ("postgres", lambda: _postmaster(home))):
                process = victim()
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)
                answers = _until_healed(http)
                statuses = {r.status_code for r in answers}
                assert statuses <= {200, 503}, (name, [(r.status_code, r.text[:200]) for r in answers])
                for refused in (r for r in answers if r.status_code == 503):
                    assert refused.headers.get("retry-after"), (name, refused.text)
                    if name == "postgres":
                        assert refused.json()["error"]["code"] == "database_unavailable"
                assert victim().pid != process.pid, f"{name} was not started again"
                restarts = http.get("/metrics").text
                assert f'tsa_embedded_restarts_total{{outcome="ok",service="{name}"}} 1.0' in restarts
                assert not [p for p in psutil.Process(server.pid).children(recursive=True)
                            if p.status() == psutil.STATUS_ZOMBIE], "a dead child was left a zombie"
            answer = http.post("/api/rag-chat", json={"query": "What does the impeller nut need?",
                                                      "max_tokens": 8})
            assert answer.status_code == 200 and answer.json()["sources"]
        assert "embedded engine is running again" in log.read_text()
    finally:
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(60)
    assert exit_code == 0
    assert processes_using(home) == [], "embedded PostgreSQL, Redis and engine must stop with tsa serve"

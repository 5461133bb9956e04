"""The deployed topology on one machine, for ``bench.soak --topology replicas``: one PostgreSQL and
one Redis on their own, ``tsa serve`` replicas on them, and Debian's nginx in front with the compose
file's gateway configuration (``deploy/nginx.conf``, its Docker DNS upstream swapped for the
replicas' ports). Each part can be killed, restarted or paused by the benchmark's fault plan.

nginx: ``apt-get install nginx-light`` (or ``nginx``).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.common import Served, free_port, wait_ready
from tsa.runtime.postgres import start_embedded_postgres, stop_embedded_postgres
from tsa.runtime.redis_server import start_embedded_redis

DEPLOYED_GATEWAY = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"


def gateway_config(template: str, prefix: Path, listen: int, replicas: list[int]) -> str:
    """``deploy/nginx.conf`` for replicas on loopback ports: the same proxy settings, a static
    upstream instead of Docker's DNS, and files under ``prefix`` (no root-owned paths)."""
    config = re.sub(r"^\s*resolver .*;\n", "", template, flags=re.M)
    config = config.replace("set $api http://api:8000;\n", "").replace("proxy_pass $api;", "proxy_pass http://api;")
    config = config.replace("listen 8000;", f"listen 127.0.0.1:{listen};")
    # As the DNS-resolved upstream it replaces: no memory of failures across requests (nginx's
    # default marks a refusing replica dead for 10 s, so a rolling restart that moves on within 10 s
    # would leave no live replica; a refused connection still goes to the next), and no keep-alive
    # connections to the replicas (a POST sent on one as a stopping replica closes it is lost).
    upstream = ("    upstream api {\n" + "".join(f"        server 127.0.0.1:{port} max_fails=0;\n" for port in replicas)
                + "    }\n")
    config = config.replace("http {\n", "http {\n" + upstream, 1)
    files = (f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\ndaemon off;\n"
             "worker_rlimit_nofile 16384;\n")
    temp = "".join(f"    {kind}_temp_path {prefix}/{kind};\n" for kind in
                   ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return files + config.replace("http {\n", "http {\n" + temp, 1)


@dataclass
class Replica:
    port: int
    home: Path
    process: subprocess.Popen[bytes] | None = None


@dataclass
class Deployment:
    """PostgreSQL, Redis, the replicas and nginx, all under ``home``."""

    home: Path
    env: dict[str, str]
    replicas: list[Replica] = field(default_factory=list)
    database_url: str = ""
    redis_url: str = ""
    admin_headers: dict[str, str] = field(default_factory=dict)
    nginx_port: int = 0
    _postgres: Any = None
    _redis: subprocess.Popen[bytes] | None = None
    _nginx: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    def served(self) -> Served:
        """What the load needs: the gateway's address and the admin's key."""
        first = self.replicas[0]
        return Served(self.base, first.process.pid if first.process else 0, self.admin_headers, first.home)

    # --- parts -----------------------------------------------------------------------------------

    def start_redis(self) -> None:
        self.redis_url, self._redis = start_embedded_redis(self.home / "redis")

    def kill_redis(self) -> None:
        if self._redis is not None:
            self._redis.kill()
            self._redis.wait(10)

    def restart_redis(self, down_s: float = 1.0) -> None:
        """Killed, and started again on the same socket after ``down_s`` (its data from the last save)."""
        self.kill_redis()
        time.sleep(down_s)
        self.start_redis()

    def postgres_processes(self) -> list[psutil.Process]:
        pid = int((self.home / "postgres" / "postmaster.pid").read_text().splitlines()[0])
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def pause_postgres(self, seconds: float) -> None:
        """SIGSTOP every PostgreSQL process (the postmaster and each backend), SIGCONT after ``seconds``."""
        processes = self.postgres_processes()
        for process in processes:
            process.send_signal(signal.SIGSTOP)
        time.sleep(seconds)
        for process in processes:
            process.send_signal(signal.SIGCONT)

    def start_replica(self, replica: Replica) -> None:
        env = {**self.env, "TSA_HOME": str(replica.home), "DATABASE_URL": self.database_url,
               "REDIS_URL": self.redis_url}
        replica.home.mkdir(parents=True, exist_ok=True)
        with open(replica.home / "serve.log", "a") as log:  # the child keeps its own copy of the descriptor
            replica.process = subprocess.Popen(
                [sys.executable, "-m", "tsa", "serve", "--host", "127.0.0.1", "--port", str(replica.port),
                 "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_ready(f"http://127.0.0.1:{replica.port}", replica.process, replica.home / "serve.log")

    def stop_replica(self, replica: Replica) -> None:
        """SIGTERM: the replica stops taking connections and finishes what it has (a rolling restart's step)."""
        if replica.process is not None and replica.process.poll() is None:
            replica.process.terminate()
            try:
                replica.process.wait(60)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait(10)

    def restart_replica(self, n: int) -> None:
        self.stop_replica(self.replicas[n])
        self.start_replica(self.replicas[n])

    def start_nginx(self) -> None:
        executable = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(executable).exists():
            raise RuntimeError("nginx is not installed: apt-get install nginx-light")
        prefix = self.home / "nginx"
        prefix.mkdir(parents=True, exist_ok=True)
        self.nginx_port = free_port()
        config = prefix / "nginx.conf"
        config.write_text(gateway_config(DEPLOYED_GATEWAY.read_text(), prefix, self.nginx_port,
                                         [r.port for r in self.replicas]))
        with open(prefix / "stderr.log", "w") as stderr:  # the child keeps its own copy of the descriptor
            self._nginx = subprocess.Popen([executable, "-p", str(prefix), "-c", str(config)],
                                           stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/gateway-health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError((prefix / "error.log").read_text() if (prefix / "error.log").exists() else "nginx")

    def stop(self) -> None:
        if self._nginx is not None:
            self._nginx.terminate()
            self._nginx.wait(10)
        for replica in self.replicas:
            self.stop_replica(replica)
        self.kill_redis()
        if self._postgres is not None:
            stop_embedded_postgres(self._postgres)


async def _first_admin(database_url: str) -> str:
    from tsa.access import Accounts
    from tsa.store import create_pool, migrate

    pool = await create_pool(database_url, max_size=2)
    try:
        await migrate(pool)
        token = await Accounts(pool).bootstrap_admin()
    finally:
        await pool.close()
    if token is None:
        raise RuntimeError("the benchmark's database already had accounts")
    return token


@contextmanager
def deployment(home: Path, env: dict[str, str], replicas: int = 2) -> Iterator[Deployment]:
    """Everything started (blocking: call it from a thread or before the event loop is busy) and
    stopped on the way out."""
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "OLLAMA_INSTANCES")}
    # Each replica runs an ingestion worker too, as `tsa serve` does by default.
    deployed = Deployment(home, {**base_env, **env})
    try:
        deployed.database_url, deployed._postgres = start_embedded_postgres(home / "postgres")
        deployed.start_redis()
        # Its own loop in its own thread: the caller may be inside one already.
        with ThreadPoolExecutor(1) as thread:
            token = thread.submit(asyncio.run, _first_admin(deployed.database_url)).result()
        deployed.admin_headers = {"Authorization": f"Bearer {token}"}
        deployed.replicas = [Replica(free_port(), home / f"replica-{n + 1}") for n in range(replicas)]
        for replica in deployed.replicas:
            deployed.start_replica(replica)
        deployed.start_nginx()
        yield deployed
    finally:
        deployed.stop()


async def slow_headers(base: str, count: int, hold_s: float, gap_s: float = 2.0) -> dict[str, int]:
    """``count`` connections that send a request's headers one byte every ``gap_s`` and never finish
    them, held for ``hold_s``: how many were still open at the end, and how many the server closed."""
    host, port = base.removeprefix("http://").split(":")
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for _ in range(count):
        try:
            opened.append(await asyncio.open_connection(host, int(port)))
        except OSError:
            break
    header = b"GET /api/version HTTP/1.1\r\nHost: soak\r\nX-Slow: " + b"x" * 10_000
    closed = 0
    deadline = time.monotonic() + hold_s
    position = 0
    while time.monotonic() < deadline and opened:
        still: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        for reader, writer in opened:
            try:
                writer.write(header[position % len(header):position % len(header) + 1])
                await writer.drain()
            except (ConnectionError, OSError):
                closed += 1
                continue
            if reader.at_eof():
                closed += 1
                writer.close()
                continue
            still.append((reader, writer))
        opened = still
        position += 1
        await asyncio.sleep(gap_s)
    for _, writer in opened:
        writer.close()
    return {"opened": count, "still open at the end": len(opened), "closed by the server": closed}


def raise_open_files_limit(wanted: int = 16384) -> None:
    """The slow-header connections need more descriptors than the usual soft limit of 1024."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))

"""Start whatever the settings leave unconfigured: PostgreSQL, Redis, the local engine.

Embedded mode decides only *who starts the server*; the application then talks to
the same protocols as in production.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from tsa.config import Settings
from tsa.runtime.children import stop
from tsa.runtime.engine_process import start_engine
from tsa.runtime.home_lock import HomeLock
from tsa.runtime.postgres import start_embedded_postgres, stop_embedded_postgres
from tsa.runtime.redis_server import start_embedded_redis
from tsa.runtime.supervisor import Child, Supervisor


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    redis_url: str
    ollama_instances: list[str]


class EmbeddedServices:
    """Blocking start/stop of the embedded servers; use ``embedded_services`` from async code."""

    def __init__(self, settings: Settings, database_only: bool = False) -> None:
        self.settings = settings
        self.database_only = database_only  # account commands need nothing else
        self._lock = HomeLock(settings.tsa_home)
        self._stops: list[Callable[[], None]] = []
        # What was started, to be watched and started again in place if it dies (runtime/supervisor.py).
        self.children: list[Child] = []
        self._engine: subprocess.Popen[bytes] | None = None
        self._redis: subprocess.Popen[bytes] | None = None
        self._postgres: Any = None

    @property
    def needed(self) -> bool:
        s = self.settings
        if self.database_only:
            return not s.database_url
        return not (s.database_url and s.redis_url and (s.ollama_instances or s.fleet_file))

    def start(self) -> Endpoints:
        s, home = self.settings, self.settings.tsa_home
        if self.needed:
            self._lock.acquire()
            self._stops.append(self._lock.release)
        try:
            database_url = s.database_url
            if not database_url:
                database_url, self._postgres = start_embedded_postgres(home / "postgres")
                self._stops.append(lambda: stop_embedded_postgres(self._postgres))
                self.children.append(Child("postgres", lambda: self._postgres.get_postmaster_info().is_running(),
                                           self._postgres.ensure_postgres_running))
            if self.database_only:
                return Endpoints(database_url, s.redis_url or "", [])
            redis_url = s.redis_url
            if not redis_url:
                redis_url, self._redis = start_embedded_redis(home / "redis")
                self._stops.append(lambda: stop(self._redis))
                self.children.append(Child("redis", lambda: _running(self._redis), self._restart_redis))
            instances = s.ollama_instances
            if not instances and s.fleet_file is None:
                engine_url, self._engine = start_engine(home, threads=s.engine_threads)
                self._stops.append(lambda: stop(self._engine))
                port = int(engine_url.rsplit(":", 1)[1])
                self.children.append(Child("engine", lambda: _running(self._engine),
                                           lambda: self._restart_engine(port)))
                instances = [engine_url]
        except BaseException:
            self.stop()
            raise
        return Endpoints(database_url, redis_url, instances)

    def _restart_redis(self) -> None:
        _, self._redis = start_embedded_redis(self.settings.tsa_home / "redis")  # the same socket

    def _restart_engine(self, port: int) -> None:
        _, self._engine = start_engine(self.settings.tsa_home, threads=self.settings.engine_threads, port=port)

    def stop(self) -> None:
        self.children.clear()
        while self._stops:
            self._stops.pop()()


def _running(process: subprocess.Popen[bytes] | None) -> bool:
    """Whether the child still runs; polling reaps it if it has died (no zombie is left)."""
    return process is not None and process.poll() is None


@asynccontextmanager
async def database_only(settings: Settings) -> AsyncIterator[str]:
    """The configured PostgreSQL, or the embedded one started for the while: its URL."""
    async with embedded_services(settings, database_only=True) as endpoints:
        yield endpoints.database_url


@asynccontextmanager
async def embedded_services(settings: Settings, database_only: bool = False) -> AsyncIterator[Endpoints]:
    """The embedded servers the settings need, supervised while the block runs."""
    services = EmbeddedServices(settings, database_only)
    endpoints = await asyncio.to_thread(services.start)
    supervising = asyncio.create_task(Supervisor(services.children).run(), name="embedded-supervisor")
    try:
        yield endpoints
    finally:
        supervising.cancel()
        await asyncio.gather(supervising, return_exceptions=True)
        await asyncio.to_thread(services.stop)

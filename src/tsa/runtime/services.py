"""Start whatever the settings leave unconfigured: PostgreSQL, Redis, the local engine.

Embedded mode decides only *who starts the server*; the application then talks to
the same protocols as in production.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tsa.config import Settings
from tsa.runtime.children import stop
from tsa.runtime.engine_process import start_engine
from tsa.runtime.home_lock import HomeLock
from tsa.runtime.postgres import start_embedded_postgres, stop_embedded_postgres
from tsa.runtime.redis_server import start_embedded_redis


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
                database_url, pg = start_embedded_postgres(home / "postgres")
                self._stops.append(lambda: stop_embedded_postgres(pg))
            if self.database_only:
                return Endpoints(database_url, s.redis_url or "", [])
            redis_url = s.redis_url
            if not redis_url:
                redis_url, redis_process = start_embedded_redis(home / "redis")
                self._stops.append(lambda: stop(redis_process))
            instances = s.ollama_instances
            if not instances and s.fleet_file is None:
                engine_url, engine = start_engine(home, threads=s.engine_threads)
                self._stops.append(lambda: stop(engine))
                instances = [engine_url]
        except BaseException:
            self.stop()
            raise
        return Endpoints(database_url, redis_url, instances)

    def stop(self) -> None:
        while self._stops:
            self._stops.pop()()


@asynccontextmanager
async def database_only(settings: Settings) -> AsyncIterator[str]:
    """The configured PostgreSQL, or the embedded one started for the while: its URL."""
    async with embedded_services(settings, database_only=True) as endpoints:
        yield endpoints.database_url


@asynccontextmanager
async def embedded_services(settings: Settings, database_only: bool = False) -> AsyncIterator[Endpoints]:
    services = EmbeddedServices(settings, database_only)
    endpoints = await asyncio.to_thread(services.start)
    try:
        yield endpoints
    finally:
        await asyncio.to_thread(services.stop)

"""Real engine processes serving the benchmark models, on loopback ports."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest

from tsa.fleet import Fleet, FleetOptions, InstanceConfig
from tsa.fleet.outliers import EjectionPolicy
from tsa.runtime.children import stop
from tsa.runtime.engine_process import start_engine


@dataclass
class Engine:
    url: str
    process: subprocess.Popen[bytes]
    args: list[str]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    async def counters(self) -> dict[str, int]:
        async with httpx.AsyncClient(timeout=10) as http:
            return (await http.get(f"{self.url}/api/engine/stats")).json()["counters"]


@pytest.fixture
def engines(tmp_path) -> Callable[..., AsyncIterator[list[Engine]]]:
    """``async with engines(8, "--bench-embed-ms", "20") as running`` — each engine a real process."""
    started: list[Engine] = []

    async def launch(args: list[str], port: int = 0) -> Engine:
        url, process = await asyncio.to_thread(start_engine, tmp_path, 1, port, 60.0, ["--bench", *args])
        engine = Engine(url, process, args)
        started.append(engine)
        return engine

    async def many(count: int, *args: str) -> list[Engine]:
        return list(await asyncio.gather(*(launch(list(args)) for _ in range(count))))

    many.restart = lambda engine: launch(engine.args, engine.port)  # type: ignore[attr-defined]
    yield many
    for engine in started:
        stop(engine.process)


def fleet_of(urls: list[str], *, health_interval_s: float = 1.0, max_concurrency: int = 4,
             **options: object) -> Fleet:
    return Fleet([InstanceConfig(url, max_concurrency=max_concurrency) for url in urls],
                 FleetOptions(health_interval_s=health_interval_s,
                              ejection=EjectionPolicy(max_s=health_interval_s), **options))


async def gather_bounded(calls: list, concurrency: int) -> list:
    """Run the coroutine factories with at most ``concurrency`` in flight; results or exceptions."""
    gate = asyncio.Semaphore(concurrency)

    async def one(call):
        async with gate:
            try:
                return await call()
            except Exception as exc:  # collected and asserted on by the caller
                return exc

    return await asyncio.gather(*(one(c) for c in calls))

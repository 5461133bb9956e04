"""Embedded PostgreSQL and Redis: one owner per TSA_HOME, data kept, nothing left running."""

from __future__ import annotations

import asyncio

import asyncpg
import psutil
import pytest
import redis.asyncio as aioredis

from tsa.config import Settings
from tsa.errors import RuntimeConflict
from tsa.runtime import EmbeddedServices

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _settings(home, engine_url: str) -> Settings:
    # Only PostgreSQL and Redis are embedded here; the session's engine is reused.
    return Settings(tsa_home=home, ollama_instances=[engine_url])


def _server_pids(home) -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"] and str(home) in " ".join(p.info["cmdline"])]


async def test_second_owner_of_a_home_gets_a_clear_error(tmp_path, engine_url):
    first = EmbeddedServices(_settings(tmp_path, engine_url))
    await asyncio.to_thread(first.start)
    try:
        with pytest.raises(RuntimeConflict, match="in use by another tsa process"):
            await asyncio.to_thread(EmbeddedServices(_settings(tmp_path, engine_url)).start)
    finally:
        await asyncio.to_thread(first.stop)


async def test_data_survives_a_restart_and_stop_leaves_no_process(tmp_path, engine_url):
    runtime = EmbeddedServices(_settings(tmp_path, engine_url))
    endpoints = await asyncio.to_thread(runtime.start)
    conn = await asyncpg.connect(endpoints.database_url)
    await conn.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')")
    await conn.close()
    cache = aioredis.from_url(endpoints.redis_url)
    await cache.set("kept", "yes")
    await cache.aclose()
    assert _server_pids(tmp_path), "servers should run while started"
    await asyncio.to_thread(runtime.stop)
    assert _server_pids(tmp_path) == []

    runtime = EmbeddedServices(_settings(tmp_path, engine_url))
    endpoints = await asyncio.to_thread(runtime.start)
    try:
        conn = await asyncpg.connect(endpoints.database_url)
        assert await conn.fetchval("SELECT note FROM kept") == "still here"
        await conn.close()
        cache = aioredis.from_url(endpoints.redis_url)
        assert await cache.get("kept") == b"yes"
        await cache.aclose()
    finally:
        await asyncio.to_thread(runtime.stop)
    assert _server_pids(tmp_path) == []

"""Redis access for the cache: short timeouts, a size cap, and a breaker so a dead Redis
costs one timeout per second instead of one per request. Never raises: on trouble the
caller computes without the cache and the bypass is counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tsa import metrics
from tsa.cache.keys import stats_key, tag_key


class RedisCache:
    def __init__(self, redis: aioredis.Redis, max_entry_bytes: int, retry_after_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.max_entry_bytes = max_entry_bytes
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._down_until = 0.0
        self._pending: dict[str, dict[str, float]] = {}

    @property
    def available(self) -> bool:
        return self._clock() >= self._down_until

    def _trouble(self, layer: str) -> None:
        self._down_until = self._clock() + self.retry_after_s
        metrics.CACHE_EVENTS.labels(layer, "error").inc()  # the failed command...
        metrics.CACHE_EVENTS.labels(layer, "bypassed").inc()  # ...whose operation went without the cache

    async def run(self, layer: str, command: Callable[[aioredis.Redis], Any]) -> Any:
        """Run ``command`` unless Redis is known to be down; None (and a bypass) on any trouble."""
        if not self.available:
            metrics.CACHE_EVENTS.labels(layer, "bypassed").inc()
            return None
        try:
            return await command(self.redis)
        except (RedisError, OSError):
            self._trouble(layer)
            return None

    async def get(self, layer: str, key: str) -> bytes | None:
        return await self.run(layer, lambda r: r.get(key))

    async def mget(self, layer: str, keys: list[str]) -> list[bytes | None]:
        found = await self.run(layer, lambda r: r.mget(keys))
        return list(found) if found is not None else [None] * len(keys)

    async def set(self, layer: str, key: str, value: bytes, ttl_s: int) -> bool:
        if len(value) > self.max_entry_bytes:
            metrics.CACHE_EVENTS.labels(layer, "oversize").inc()
            return False
        done = await self.run(layer, lambda r: r.set(key, value, ex=ttl_s))
        if done:
            await self.count(layer, written=1, bytes_written=len(value))
        return bool(done)

    async def set_many(self, layer: str, items: list[tuple[str, bytes]], ttl_s: int) -> None:
        items = [(k, v) for k, v in items if len(v) <= self.max_entry_bytes]
        if not items:
            return

        async def write(r: aioredis.Redis) -> Any:
            async with r.pipeline(transaction=False) as pipe:
                for key, value in items:
                    pipe.set(key, value, ex=ttl_s)
                return await pipe.execute()

        if await self.run(layer, write) is not None:
            await self.count(layer, written=len(items), bytes_written=sum(len(v) for _, v in items))

    async def tag(self, layer: str, tag: str, key: str, ttl_s: int) -> None:
        """Remember ``key`` under ``tag``; the set lives as long as its newest entry."""
        async def add(r: aioredis.Redis) -> Any:
            async with r.pipeline(transaction=False) as pipe:
                pipe.sadd(tag_key(tag), key)
                pipe.expire(tag_key(tag), ttl_s)
                return await pipe.execute()

        await self.run(layer, add)

    async def forget_tag(self, layer: str, tag: str) -> int | None:
        async def drop(r: aioredis.Redis) -> int:
            keys = [k async for k in r.sscan_iter(tag_key(tag), count=1000)]
            dropped = 0
            for start in range(0, len(keys), 1000):
                dropped += await r.delete(*keys[start:start + 1000])
            await r.delete(tag_key(tag))
            return dropped

        return await self.run(layer, drop)

    async def count(self, layer: str, **fields: float) -> None:
        """Add to the shared per-layer statistics. Buffered here and flushed to a Redis hash about
        once a second (``flush``), so a cache hit costs no extra round trip."""
        pending = self._pending.setdefault(layer, {})
        for name, amount in fields.items():
            pending[name] = pending.get(name, 0) + amount

    async def flush(self) -> bool:
        """Write buffered statistics to Redis; kept for the next try when Redis is away."""
        if not self._pending:
            return True
        batch, self._pending = self._pending, {}

        async def add(r: aioredis.Redis) -> Any:
            async with r.pipeline(transaction=False) as pipe:
                for layer, fields in batch.items():
                    for name, amount in fields.items():
                        if isinstance(amount, int):
                            pipe.hincrby(stats_key(layer), name, amount)
                        else:
                            pipe.hincrbyfloat(stats_key(layer), name, amount)
                return await pipe.execute()

        if await self.run("inference", add) is None:
            for layer, fields in batch.items():  # merge back, newer counts included
                for name, amount in fields.items():
                    self._pending.setdefault(layer, {})[name] = self._pending.get(layer, {}).get(name, 0) + amount
            return False
        return True

    async def flush_forever(self, every_s: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            await self.flush()

"""The three cache layers: embeddings (7 d), retrieved chunk lists (30 d), answers (24 h)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from tsa import metrics
from tsa.cache.codec import pack_json, pack_vector, unpack_json, unpack_vector
from tsa.cache.keys import cache_key
from tsa.cache.redis_cache import RedisCache

Embed = Callable[..., Awaitable[list[list[float]]]]


_SHARED_FIELDS = {"hit": "hits", "miss": "misses", "coalesced": "coalesced", "error": "errors"}


async def record(cache: RedisCache, layer: str, event: str, count: int = 1) -> None:
    """Count an event here (Prometheus) and in the shared statistics (Redis)."""
    metrics.CACHE_EVENTS.labels(layer, event).inc(count)
    await cache.count(layer, **{_SHARED_FIELDS[event]: count})


class EmbeddingCache:
    """Wraps an embedder: cached vectors come from Redis, only the misses are embedded."""

    layer = "embedding"

    def __init__(self, cache: RedisCache, embed: Embed, model: str, dims: int, ttl_s: int) -> None:
        self.cache, self.embed, self.model, self.dims, self.ttl_s = cache, embed, model, dims, ttl_s

    def key(self, text: str) -> str:
        return cache_key(self.layer, {"model": self.model, "dims": self.dims, "text": text})

    async def __call__(self, texts: list[str], progress: Any = None) -> list[list[float]]:
        return (await self.lookup(texts, progress))[0]

    async def lookup(self, texts: list[str], progress: Any = None, use_cache: bool = True
                     ) -> tuple[list[list[float]], bool]:
        """Vectors for ``texts`` and whether every one came from the cache."""
        if not use_cache:
            metrics.CACHE_EVENTS.labels(self.layer, "bypassed").inc(len(texts))
            return await self.embed(texts, progress), False
        keys = [self.key(t) for t in texts]
        found = await self.cache.mget(self.layer, keys)
        missing = [n for n, data in enumerate(found) if data is None]
        vectors: list[list[float] | None] = [None if d is None else unpack_vector(d) for d in found]
        if len(texts) > len(missing):
            await record(self.cache, self.layer, "hit", len(texts) - len(missing))
        if missing:
            await record(self.cache, self.layer, "miss", len(missing))
            started = time.perf_counter()
            fresh = await self.embed([texts[n] for n in missing], progress)
            await self.cache.count(self.layer, compute_ms=(time.perf_counter() - started) * 1000,
                                   computed=len(missing))
            for n, vector in zip(missing, fresh, strict=True):
                vectors[n] = vector
            packed = [(keys[n], pack_vector(v)) for n, v in zip(missing, fresh, strict=True)]
            await self.cache.set_many(self.layer, packed, self.ttl_s)
        return [v for v in vectors if v is not None], not missing


class JsonLayer:
    """A layer whose values are JSON documents (chunk lists, answers)."""

    def __init__(self, cache: RedisCache, layer: str, ttl_s: int) -> None:
        self.cache, self.layer, self.ttl_s = cache, layer, ttl_s

    def key(self, parts: dict[str, Any]) -> str:
        return cache_key(self.layer, parts)

    async def peek(self, key: str) -> Any:
        """The value without counting a hit or miss (single-flight followers poll with it)."""
        data = await self.cache.get(self.layer, key)
        if data is None:
            return None
        try:
            return unpack_json(data)
        except ValueError:
            await record(self.cache, self.layer, "error")
            return None

    async def get(self, key: str) -> Any:
        value = await self.peek(key)
        await record(self.cache, self.layer, "miss" if value is None else "hit")
        return value

    async def put(self, key: str, value: Any, compute_ms: float | None, tag: str | None = None) -> None:
        """Store ``value``; with a ``tag``, ``forget(tag)`` can later drop it (and all so tagged).
        ``compute_ms`` None: a copy of an entry already counted, not a computation."""
        if compute_ms is not None:
            await self.cache.count(self.layer, compute_ms=compute_ms, computed=1)
        if await self.cache.set(self.layer, key, pack_json(value), self.ttl_s) and tag is not None:
            await self.cache.tag(self.layer, tag, key, self.ttl_s)

    async def forget(self, tag: str) -> int | None:
        """Drop every entry stored under ``tag``; how many, or None when Redis is unavailable."""
        return await self.cache.forget_tag(self.layer, tag)

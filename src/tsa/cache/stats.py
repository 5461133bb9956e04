"""Cache statistics shared through Redis, as served by /api/advanced-cache-stats."""

from __future__ import annotations

from typing import Any

from tsa import metrics
from tsa.cache.keys import LAYERS, stats_key
from tsa.cache.redis_cache import RedisCache


def _local_bypasses(layer: str) -> int:
    return int(metrics.CACHE_EVENTS.labels(layer, "bypassed")._value.get())


def layer_stats(raw: dict[bytes, bytes], layer: str) -> dict[str, Any]:
    values = {k.decode(): float(v) for k, v in raw.items()}
    hits, misses = int(values.get("hits", 0)), int(values.get("misses", 0))
    computed = values.get("computed", 0.0)
    avg_compute_ms = values.get("compute_ms", 0.0) / computed if computed else 0.0
    return {
        "hits": hits, "misses": misses,
        "hit_rate": round(hits / (hits + misses), 4) if hits + misses else 0.0,
        "coalesced": int(values.get("coalesced", 0)), "errors": int(values.get("errors", 0)),
        "entries_written": int(values.get("written", 0)), "bytes_written": int(values.get("bytes_written", 0)),
        "avg_compute_ms": round(avg_compute_ms, 3),
        "estimated_time_saved_ms": round(hits * avg_compute_ms, 1),
        "bypassed_this_replica": _local_bypasses(layer),
    }


async def cache_stats(cache: RedisCache) -> dict[str, Any]:
    await cache.flush()  # this replica's latest counts, before reading everyone's

    async def read(r: Any) -> list[dict[bytes, bytes]]:
        async with r.pipeline(transaction=False) as pipe:
            for layer in LAYERS:
                pipe.hgetall(stats_key(layer))
            return await pipe.execute()

    raw = await cache.run("inference", read)
    layers = {layer: layer_stats(raw[n] if raw else {}, layer) for n, layer in enumerate(LAYERS)}
    return {"redis_available": raw is not None, "layers": layers}


async def reset_stats(cache: RedisCache) -> bool:
    await cache.flush()
    return await cache.run("inference", lambda r: r.delete(*(stats_key(layer) for layer in LAYERS))) is not None

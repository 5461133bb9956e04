"""Cache statistics shared by every replica, and resetting them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tsa.api.deps import ContainerDep
from tsa.api.routes.fleet import AdminDep
from tsa.cache import cache_stats, reset_stats
from tsa.errors import BackendUnavailable

router = APIRouter()


@router.get("/api/advanced-cache-stats")
async def advanced_cache_stats(container: ContainerDep) -> dict[str, Any]:
    return await cache_stats(container.caches.redis)


@router.post("/api/advanced-cache-stats/reset", dependencies=[AdminDep])
async def reset_cache_stats(container: ContainerDep) -> dict[str, Any]:
    if not await reset_stats(container.caches.redis):
        raise BackendUnavailable("Redis is unavailable; the statistics live there", "connect")
    return await cache_stats(container.caches.redis)

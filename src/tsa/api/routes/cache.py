"""Cache statistics shared by every replica, and resetting them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tsa.api.auth import Admin, ViewerOnly, client_address
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.cache import cache_stats, reset_stats
from tsa.errors import BackendUnavailable

router = APIRouter()


@router.get("/api/advanced-cache-stats", dependencies=[ViewerOnly], responses=documented(401, 403, 429))
async def advanced_cache_stats(container: ContainerDep) -> dict[str, Any]:
    return await cache_stats(container.caches.redis)


@router.post("/api/advanced-cache-stats/reset", responses=documented(401, 403, 429, 503))
async def reset_cache_stats(request: Request, container: ContainerDep, principal: Admin) -> dict[str, Any]:
    if not await reset_stats(container.caches.redis):
        raise BackendUnavailable("Redis is unavailable; the statistics live there", "connect")
    await container.access.audit.record("cache.reset_stats", principal, address=client_address(request))
    return await cache_stats(container.caches.redis)

"""Load-balancer statistics, and admin endpoints to add, drain, undrain and remove instances.

Instance URLs and upstream errors are for admins; other callers see names and states.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tsa.access import Principal
from tsa.api.auth import Admin, Viewer, client_address
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.api.schemas import InstanceRequest
from tsa.errors import BackendUnavailable, Conflict
from tsa.fleet import InstanceConfig, fleet_stats
from tsa.fleet.report import instance_stats
from tsa.rag import forget_answers_of

router = APIRouter()
_ADMIN_ONLY_FIELDS = ("url", "last_error", "error")
_GATED = documented(401, 403, 429)


def redacted(instance: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if principal.is_admin:
        return instance
    return {k: v for k, v in instance.items() if k not in _ADMIN_ONLY_FIELDS}


@router.get("/api/load-balancer-stats", responses=_GATED)
async def load_balancer_stats(container: ContainerDep, principal: Viewer) -> dict[str, Any]:
    stats = fleet_stats(container.fleet, container.settings.chat_model)
    stats["instances"] = [redacted(i, principal) for i in stats["instances"]]
    return stats


@router.get("/api/fleet/instances", responses=_GATED)
async def list_instances(container: ContainerDep, _: Admin) -> dict[str, Any]:
    return {"instances": fleet_stats(container.fleet, container.settings.chat_model)["instances"]}


@router.post("/api/fleet/instances", status_code=201, responses=documented(401, 403, 409, 422, 429))
async def add_instance(body: InstanceRequest, request: Request, container: ContainerDep,
                       principal: Admin) -> dict[str, Any]:
    config = InstanceConfig(url=body.url.rstrip("/"), name=body.name, weight=body.weight,
                            max_concurrency=body.max_concurrency or container.settings.instance_max_concurrency,
                            labels=frozenset(body.labels), api=body.api)
    try:
        instance = container.fleet.add(config)
    except ValueError as exc:
        raise Conflict(str(exc)) from None
    await container.access.audit.record("fleet.add", principal, target=instance.name,
                                        address=client_address(request), url=instance.url)
    await container.fleet.probe_instance(instance)
    return instance_stats(instance, container.fleet, container.settings.chat_model)


@router.post("/api/fleet/instances/{name}/drain", responses=documented(401, 403, 404, 429))
async def drain_instance(name: str, request: Request, container: ContainerDep, principal: Admin) -> dict[str, Any]:
    instance = container.fleet.drain(name)
    await container.access.audit.record("fleet.drain", principal, target=name, address=client_address(request))
    return instance_stats(instance, container.fleet, container.settings.chat_model)


@router.post("/api/fleet/instances/{name}/undrain", responses=documented(401, 403, 404, 409, 429))
async def undrain_instance(name: str, request: Request, container: ContainerDep,
                           principal: Admin) -> dict[str, Any]:
    try:
        instance = container.fleet.undrain(name)
    except ValueError as exc:
        raise Conflict(str(exc)) from None
    await container.access.audit.record("fleet.undrain", principal, target=name, address=client_address(request))
    return instance_stats(instance, container.fleet, container.settings.chat_model)


@router.post("/api/fleet/instances/{name}/forget-answers", responses=documented(401, 403, 429, 503))
async def forget_instance_answers(name: str, request: Request, container: ContainerDep,
                                  principal: Admin) -> dict[str, Any]:
    """Drop the cached answers this instance generated (it may be gone already)."""
    dropped = await _forget(container, name)
    await container.access.audit.record("cache.forget_instance", principal, target=name,
                                        address=client_address(request), answers=dropped)
    return {"name": name, "answers_forgotten": dropped}


@router.delete("/api/fleet/instances/{name}", status_code=202, responses=documented(401, 403, 404, 429, 503))
async def remove_instance(name: str, request: Request, container: ContainerDep, principal: Admin) -> JSONResponse:
    """Drains now and forgets the answers it generated; it leaves once its calls in flight have finished."""
    instance = container.fleet.drain(name)
    task = asyncio.create_task(_remove(container, name))
    tasks: set[asyncio.Task[Any]] = request.app.state.background
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    dropped = await _forget(container, name)
    await container.access.audit.record("fleet.remove", principal, target=name, address=client_address(request),
                                        answers_forgotten=dropped)
    return JSONResponse({"name": name, "state": instance.state.value, "in_flight": instance.in_flight,
                         "answers_forgotten": dropped}, status_code=202)


async def _forget(container: Any, name: str) -> int:
    dropped = await forget_answers_of(container.caches, name)
    if dropped is None:
        raise BackendUnavailable("Redis is unavailable; cached answers could not be forgotten", "connect")
    return dropped


async def _remove(container: Any, name: str) -> None:
    await container.fleet.remove(name)
    # Answers that were being generated by it while it drained are stored after the first sweep.
    await forget_answers_of(container.caches, name)

"""Load-balancer statistics, and admin endpoints to add, drain and remove instances at runtime."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from tsa.api.deps import ContainerDep
from tsa.api.schemas import InstanceRequest
from tsa.errors import Conflict, Unauthorized
from tsa.fleet import InstanceConfig, fleet_stats
from tsa.fleet.report import instance_stats

router = APIRouter()


def require_admin(container: ContainerDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """With ADMIN_TOKEN set, admin calls need ``Authorization: Bearer <token>``."""
    token = container.settings.admin_token
    if token is None:
        return
    presented = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(presented.encode(), token.encode()):
        raise Unauthorized("admin endpoints need Authorization: Bearer <ADMIN_TOKEN>")


AdminDep = Depends(require_admin)


@router.get("/api/load-balancer-stats")
async def load_balancer_stats(container: ContainerDep) -> dict[str, Any]:
    return fleet_stats(container.fleet, container.settings.chat_model)


@router.get("/api/fleet/instances", dependencies=[AdminDep])
async def list_instances(container: ContainerDep) -> dict[str, Any]:
    return {"instances": fleet_stats(container.fleet, container.settings.chat_model)["instances"]}


@router.post("/api/fleet/instances", status_code=201, dependencies=[AdminDep])
async def add_instance(body: InstanceRequest, container: ContainerDep) -> dict[str, Any]:
    config = InstanceConfig(url=body.url.rstrip("/"), name=body.name, weight=body.weight,
                            max_concurrency=body.max_concurrency or container.settings.instance_max_concurrency,
                            labels=frozenset(body.labels), api=body.api)
    try:
        instance = container.fleet.add(config)
    except ValueError as exc:
        raise Conflict(str(exc)) from None
    await container.fleet.probe_instance(instance)
    return instance_stats(instance, container.fleet, container.settings.chat_model)


@router.post("/api/fleet/instances/{name}/drain", dependencies=[AdminDep])
async def drain_instance(name: str, container: ContainerDep) -> dict[str, Any]:
    instance = container.fleet.drain(name)
    return instance_stats(instance, container.fleet, container.settings.chat_model)


@router.delete("/api/fleet/instances/{name}", dependencies=[AdminDep])
async def remove_instance(name: str, request: Request, container: ContainerDep) -> JSONResponse:
    """Drains now; the instance leaves once its calls in flight have finished."""
    instance = container.fleet.drain(name)
    task = asyncio.create_task(container.fleet.remove(name))
    tasks: set[asyncio.Task[Any]] = request.app.state.background
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return JSONResponse({"name": name, "state": instance.state.value, "in_flight": instance.in_flight},
                        status_code=202)

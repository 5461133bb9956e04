"""Liveness, readiness, the fleet's live state and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tsa.api.auth import Public, Viewer
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.api.routes.fleet import redacted
from tsa.dependencies import check_all
from tsa.fleet.instance import ROUTABLE

router = APIRouter()


@router.get("/health", dependencies=[Public])
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _any_instance(container: Any) -> None:
    """From the background health checks: readiness probes must not fan out to every instance."""
    if not any(i.state in ROUTABLE for i in container.fleet.instances):
        raise RuntimeError("no LLM instance is healthy")


@router.get("/ready", dependencies=[Public],
            responses={503: {"description": "A dependency is down", "content": {"application/json": {}}}})
async def ready(container: ContainerDep) -> JSONResponse:
    checks = await check_all({**container.dependencies, "llm": lambda: _any_instance(container)})
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                        status_code=200 if ok else 503)


@router.get("/api/ollama-health", responses=documented(401, 403, 429))
async def ollama_health(container: ContainerDep, principal: Viewer) -> dict[str, Any]:
    instances = [redacted(i, principal) for i in await container.fleet.probe()]
    return {"healthy_instances": sum(i["healthy"] for i in instances), "total_instances": len(instances),
            "instances": instances}


@router.get("/metrics", dependencies=[Public], response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition"}})
async def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

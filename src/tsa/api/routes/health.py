"""Liveness, readiness, the fleet's live state and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tsa.api.deps import ContainerDep
from tsa.dependencies import check_all
from tsa.fleet.instance import ROUTABLE

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _any_instance(container: Any) -> None:
    """From the background health checks: readiness probes must not fan out to every instance."""
    if not any(i.state in ROUTABLE for i in container.fleet.instances):
        raise RuntimeError("no LLM instance is healthy")


@router.get("/ready")
async def ready(container: ContainerDep) -> JSONResponse:
    checks = await check_all({**container.dependencies, "llm": lambda: _any_instance(container)})
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                        status_code=200 if ok else 503)


@router.get("/api/ollama-health")
async def ollama_health(container: ContainerDep) -> dict[str, Any]:
    instances = await container.fleet.probe()
    return {"healthy_instances": sum(i["healthy"] for i in instances), "total_instances": len(instances),
            "instances": instances}


@router.get("/metrics")
async def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

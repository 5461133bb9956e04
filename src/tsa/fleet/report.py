"""The load-balancer statistics served at /api/load-balancer-stats. Numbers stay numbers."""

from __future__ import annotations

from typing import Any

from tsa.fleet.admission import Priority
from tsa.fleet.fleet import Fleet
from tsa.fleet.instance import ROUTABLE, Instance
from tsa.fleet.policy import latency_prior, score
from tsa.model_names import canonical_name


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def instance_stats(instance: Instance, fleet: Fleet, chat_model: str) -> dict[str, Any]:
    model = canonical_name(chat_model)
    prior = latency_prior(fleet.instances, model, "chat")
    return {
        "name": instance.name, "url": instance.url, "healthy": instance.state in ROUTABLE,
        "state": instance.state.value, "in_flight": instance.in_flight,
        "max_concurrency": instance.config.max_concurrency, "weight": instance.config.weight,
        "labels": sorted(instance.config.labels), "total_requests": instance.total_requests,
        "successful_requests": instance.successful_requests, "failed_requests": instance.failed_requests,
        "avg_latency_ms": _ms(instance.window.mean()), "p50_latency_ms": _ms(instance.window.percentile(50)),
        "p95_latency_ms": _ms(instance.window.percentile(95)),
        "error_rate": round(instance.error_rate.value or 0.0, 4), "ejections": instance.ejections,
        "models_available": sorted(instance.models_available or ()),
        "models_loaded": sorted(instance.models_loaded),
        # The routing score for the chat model (expected seconds, lower is better; see policy.py).
        "load_score": round(score(instance, model, "chat", prior), 6),
        "last_error": instance.last_error,
    }


def fleet_stats(fleet: Fleet, chat_model: str) -> dict[str, Any]:
    instances = [instance_stats(i, fleet, chat_model) for i in fleet.instances]
    return {
        "instances": instances,
        "overall": {
            "total_instances": len(instances), "healthy_instances": sum(i["healthy"] for i in instances),
            "in_flight": sum(i["in_flight"] for i in instances),
            "total_requests": sum(i["total_requests"] for i in instances),
            "successful_requests": sum(i["successful_requests"] for i in instances),
            "failed_requests": sum(i["failed_requests"] for i in instances),
            "retries": fleet.retries,
            "queued": {p.name.lower(): fleet.queue.depth(p) for p in Priority},
        },
    }

"""Publishing fleet state to the Prometheus gauges (one place, used by the fleet and its prober)."""

from __future__ import annotations

from tsa import metrics
from tsa.fleet.admission import AdmissionQueue, Priority
from tsa.fleet.instance import ROUTABLE, Instance, State


def publish_state(instance: Instance) -> None:
    for state in State:
        metrics.FLEET_STATE.labels(instance.name, state.value).set(1 if instance.state is state else 0)
    metrics.FLEET_HEALTHY.labels(instance.name).set(1 if instance.state in ROUTABLE else 0)


def publish_queue(queue: AdmissionQueue) -> None:
    for priority in Priority:
        metrics.FLEET_QUEUE_DEPTH.labels(priority.name.lower()).set(queue.depth(priority))


def forget(instance: Instance) -> None:
    for gauge in (metrics.FLEET_IN_FLIGHT, metrics.FLEET_HEALTHY, metrics.FLEET_MODELS_LOADED):
        try:
            gauge.remove(instance.name)
        except KeyError:
            pass
    for state in State:
        try:
            metrics.FLEET_STATE.remove(instance.name, state.value)
        except KeyError:
            pass

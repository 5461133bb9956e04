"""Passive health: eject instances whose calls fail, with capped exponential back-off. Pure.

Like Envoy's outlier detection: a connection refused ejects at once, timeouts
and 5xx after ``consecutive_failures`` in a row, a high recent error rate too;
never more than ``max_ejected_share`` of the fleet at once. An ejected instance
returns when its back-off has passed and an active probe succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from tsa.fleet.instance import Instance, State


class Failure(StrEnum):
    CONNECT = "connect"  # refused or unreachable: the server is not there
    TIMEOUT = "timeout"
    SERVER = "server_error"  # 5xx
    BUSY = "busy"  # 503 queue full: retried elsewhere, not held against the instance's health


@dataclass(frozen=True)
class EjectionPolicy:
    consecutive_failures: int = 3
    error_rate_threshold: float = 0.5
    base_s: float = 1.0
    max_s: float = 10.0
    max_ejected_share: float = 0.5

    def backoff_s(self, ejections: int) -> float:
        return min(self.base_s * 2 ** max(ejections - 1, 0), self.max_s)


def record_success(instance: Instance) -> None:
    instance.consecutive_failures = 0
    instance.ejections = 0
    instance.error_rate.add(0.0)


def record_failure(instance: Instance, failure: Failure, fleet: Sequence[Instance], policy: EjectionPolicy,
                   now: float) -> bool:
    """Count the failure; returns True when it ejects the instance."""
    if failure is Failure.BUSY:
        return False
    instance.consecutive_failures += 1
    rate = instance.error_rate.add(1.0)
    serious = (failure is Failure.CONNECT or instance.consecutive_failures >= policy.consecutive_failures
               or rate >= policy.error_rate_threshold)
    if not serious or instance.state not in (State.HEALTHY, State.UNKNOWN):
        return False
    ejected = sum(1 for i in fleet if i.state in (State.EJECTED, State.DOWN)) + 1
    if ejected > policy.max_ejected_share * len(fleet) and failure is not Failure.CONNECT:
        return False  # keep serving on a sick instance rather than overload the rest
    instance.ejections += 1
    instance.state = State.EJECTED
    instance.ejected_until = now + policy.backoff_s(instance.ejections)
    return True


def due_for_probe(instance: Instance, now: float) -> bool:
    return instance.state is State.EJECTED and now >= instance.ejected_until


def record_probe(instance: Instance, ok: bool, policy: EjectionPolicy, now: float) -> None:
    """An active probe's verdict. A failed probe of an ejected instance doubles its back-off."""
    if instance.state is State.DRAINING:
        return
    if ok:
        if instance.state is not State.EJECTED or now >= instance.ejected_until:
            if instance.state in (State.EJECTED, State.DOWN):
                # Back from the dead: its old failures are history, or its error rate (which only
                # successes lower) would starve it of the very traffic that could lower it.
                instance.error_rate.value = 0.0
            instance.state = State.HEALTHY
            instance.consecutive_failures = 0
        return
    if instance.state is State.EJECTED:
        instance.ejections += 1
        instance.ejected_until = now + policy.backoff_s(instance.ejections)
    else:
        instance.state = State.DOWN

"""Routing policy: which instance takes a call. Pure: no I/O, time and randomness passed in.

Candidates are the instances that serve the request kind (labels), may have the
model (per /api/tags), and are routable (healthy or not yet probed). When none
is routable, every instance that may have the model is tried (panic mode):
better a slim chance than a certain refusal.

Among candidates with a free slot, warm ones (model loaded per /api/ps) are
preferred; if no warm candidate has a free slot, cold ones are used, which is
how a model spreads to more instances under load. Then power of two random
choices: two candidates drawn at random, the lower score wins:

    score = latency × (1 + in_flight / max_concurrency) / max(1 − error_rate, 0.05) / weight

``latency`` is the instance's EWMA for this (model, kind), or the median of the
other instances' when it has none yet; ``in_flight / max_concurrency`` is how
full it is; dividing by the success rate prices in the retries a failing
instance causes. Two random draws instead of the global minimum keep many
concurrent callers from herding onto the same instance.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterable, Sequence

from tsa.fleet.instance import ROUTABLE, Instance, State

_MIN_SUCCESS_RATE = 0.05
_DEFAULT_LATENCY_S = 1.0


def candidates(instances: Iterable[Instance], model: str, kind: str) -> tuple[list[Instance], bool]:
    """Instances that may take the call, and whether that is the panic fallback."""
    eligible = [i for i in instances if i.serves(kind) and i.may_have(model) and i.state != State.DRAINING]
    routable = [i for i in eligible if i.state in ROUTABLE]
    return (routable, False) if routable else (eligible, bool(eligible))


def latency_prior(instances: Sequence[Instance], model: str, kind: str) -> float:
    known = [v for i in instances if (v := i.expected_latency(model, kind)) is not None]
    return statistics.median(known) if known else _DEFAULT_LATENCY_S


def score(instance: Instance, model: str, kind: str, prior: float) -> float:
    latency = instance.expected_latency(model, kind)
    latency = prior if latency is None else latency
    load = 1 + instance.in_flight / instance.config.max_concurrency
    success = max(1 - (instance.error_rate.value or 0.0), _MIN_SUCCESS_RATE)
    return latency * load / success / instance.config.weight


def choose(pool: Sequence[Instance], model: str, kind: str, rng: random.Random,
           exclude: Iterable[Instance] = ()) -> Instance | None:
    """The instance for this call, or None when every candidate is full (the caller queues)."""
    skipped = {id(i) for i in exclude}
    free = [i for i in pool if i.free_slots > 0 and id(i) not in skipped]
    warm = [i for i in free if model in i.models_loaded]
    options = warm or free
    if len(options) <= 1:
        return options[0] if options else None
    prior = latency_prior(pool, model, kind)
    first, second = rng.sample(options, 2)
    return min((first, second), key=lambda i: score(i, model, kind, prior))

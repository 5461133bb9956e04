"""Routing policy: which instance takes a call. Pure: no I/O, time and randomness passed in.

Candidates are the instances that serve the request kind (labels), may have the
model (per /api/tags), and are routable (healthy or not yet probed). When none
is routable, every instance that may have the model is tried (panic mode):
better a slim chance than a certain refusal.

Among candidates with a free slot, warm ones (model loaded per /api/ps) come
first. A cold one competes only when loading the model there is expected to
cost less than the best warm candidate's score (a cold load on Ollama takes
seconds, so in practice only when no warm one has room — which is how a model
spreads to more instances under load, and never thrashes under light load).
Then power of two random choices: two candidates drawn at random, the lower
score wins:

    score = latency × (1 + in_flight / max_concurrency) / max(1 − error_rate, 0.05) / weight
            + (expected load time, if the model is not loaded there)

``latency`` is the instance's EWMA for this (model, kind), or the median of the
other instances' when it has none yet; an estimate that has not been refreshed
drifts back to that median with a half-life of ``LATENCY_HALF_LIFE_S``, so an
instance judged on one slow call (a first call, a hiccup) is tried again
instead of starving; ``in_flight / max_concurrency`` is how
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
_DEFAULT_LOAD_S = 5.0  # before any load was observed: a typical Ollama cold load
LATENCY_HALF_LIFE_S = 2.0


def candidates(instances: Iterable[Instance], model: str, kind: str) -> tuple[list[Instance], bool]:
    """Instances that may take the call, and whether that is the panic fallback."""
    eligible = [i for i in instances if i.serves(kind) and i.may_have(model) and i.state != State.DRAINING]
    routable = [i for i in eligible if i.state in ROUTABLE]
    return (routable, False) if routable else (eligible, bool(eligible))


def latency_prior(instances: Sequence[Instance], model: str, kind: str) -> float:
    known = [v for i in instances if (v := i.expected_latency(model, kind)) is not None]
    return statistics.median(known) if known else _DEFAULT_LATENCY_S


def load_prior(instances: Sequence[Instance], model: str) -> float:
    known = [v for i in instances if (v := i.expected_load(model)) is not None]
    return statistics.median(known) if known else _DEFAULT_LOAD_S


def current_latency(instance: Instance, model: str, kind: str, prior: float, now: float | None) -> float:
    ewma = instance.latency.get((model, kind))
    if ewma is None or ewma.value is None:
        return prior
    if now is None:
        return ewma.value
    fade = 0.5 ** (max(now - ewma.updated_at, 0.0) / LATENCY_HALF_LIFE_S)
    return prior + (ewma.value - prior) * fade


def score(instance: Instance, model: str, kind: str, prior: float, load_prior_s: float = 0.0,
          now: float | None = None) -> float:
    latency = current_latency(instance, model, kind, prior, now)
    busy = 1 + instance.in_flight / instance.config.max_concurrency
    success = max(1 - (instance.error_rate.value or 0.0), _MIN_SUCCESS_RATE)
    return latency * busy / success / instance.config.weight + cold_cost(instance, model, load_prior_s)


def cold_cost(instance: Instance, model: str, load_prior_s: float) -> float:
    if model in instance.models_loaded:
        return 0.0
    expected = instance.expected_load(model)
    return load_prior_s if expected is None else expected


def choose(pool: Sequence[Instance], model: str, kind: str, rng: random.Random,
           exclude: Iterable[Instance] = (), now: float | None = None) -> Instance | None:
    """The instance for this call, or None when every candidate is full (the caller queues)."""
    skipped = {id(i) for i in exclude}
    free = [i for i in pool if i.free_slots > 0 and id(i) not in skipped]
    warm = [i for i in free if model in i.models_loaded]
    prior = latency_prior(pool, model, kind)
    # Loads are priced only where some candidate is cold: the usual case, a warm fleet, skips scoring
    # every instance (which grew with the fleet: 41 µs a call at eight instances, 14 at two).
    some_cold = len(warm) < len(free)
    loading = load_prior(pool, model) if some_cold else 0.0
    if warm and some_cold:
        best = min(score(i, model, kind, prior, now=now) for i in warm)
        options = warm + [i for i in free if i not in warm and cold_cost(i, model, loading) < best]
    else:
        options = free
    if len(options) <= 1:
        return options[0] if options else None
    first, second = rng.sample(options, 2)
    return min((first, second), key=lambda i: score(i, model, kind, prior, loading, now))

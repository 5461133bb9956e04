"""The fleet's pure parts: routing policy, outlier ejection, admission queue, budgets, fleet file."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from tsa.fleet.admission import AdmissionQueue, Priority
from tsa.fleet.budget import Budget
from tsa.fleet.fleet_file import parse_fleet
from tsa.fleet.instance import Instance, InstanceConfig, State
from tsa.fleet.outliers import EjectionPolicy, Failure, due_for_probe, record_failure, record_probe, record_success
from tsa.fleet.policy import candidates, choose, score
from tsa.fleet.stats import Ewma, LatencyWindow

MODEL = "m:latest"


def make(n: int, **config) -> Instance:
    instance = Instance(InstanceConfig(f"http://10.0.0.{n}:11434", **config))
    instance.state = State.HEALTHY
    instance.models_available = {MODEL}
    return instance


def test_candidates_need_the_kind_the_model_and_health():
    chat_only, no_model, down, good = make(1, labels=frozenset({"chat"})), make(2), make(3), make(4)
    no_model.models_available = {"other:latest"}
    down.state = State.EJECTED
    assert candidates([chat_only, no_model, down, good], MODEL, "embed") == ([good], False)
    assert candidates([chat_only, good], MODEL, "chat")[0] == [chat_only, good]


def test_panic_mode_tries_unhealthy_instances_rather_than_none():
    a, b = make(1), make(2)
    a.state, b.state = State.EJECTED, State.DOWN
    assert candidates([a, b], MODEL, "chat") == ([a, b], True)
    b.state = State.DRAINING
    assert candidates([a, b], MODEL, "chat") == ([a], True)


def test_unknown_models_list_means_maybe_and_a_404_removes_it():
    fresh = make(1)
    fresh.models_available = None
    assert fresh.may_have("anything:latest")
    fresh.models_missing.add("anything:latest")
    assert not fresh.may_have("anything:latest")


def test_warm_instances_win_while_they_have_room():
    cold, warm = make(1), make(2)
    warm.models_loaded.add(MODEL)
    rng = random.Random(1)
    assert all(choose([cold, warm], MODEL, "chat", rng) is warm for _ in range(50))
    warm.in_flight = warm.config.max_concurrency
    assert choose([cold, warm], MODEL, "chat", rng) is cold


def test_full_instances_are_skipped_and_all_full_means_queue():
    a, b = make(1, max_concurrency=1), make(2, max_concurrency=1)
    a.in_flight = 1
    assert choose([a, b], MODEL, "chat", random.Random(0)) is b
    b.in_flight = 1
    assert choose([a, b], MODEL, "chat", random.Random(0)) is None


def test_score_formula():
    instance = make(1, max_concurrency=4, weight=2.0)
    instance.latency[(MODEL, "chat")] = Ewma(value=0.5)
    instance.in_flight = 2
    instance.error_rate = Ewma(value=0.2)
    assert score(instance, MODEL, "chat", prior=9.9) == pytest.approx(0.5 * 1.5 / 0.8 / 2.0)
    assert score(make(2), MODEL, "chat", prior=0.3) == pytest.approx(0.3)


def _simulate(instances: list[Instance], picks: int, seed: int = 7) -> Counter[str]:
    rng, seen = random.Random(seed), Counter[str]()
    for _ in range(picks):
        chosen = choose(instances, MODEL, "chat", rng)
        seen[chosen.name] += 1
    return seen


def test_no_herding_under_uniform_load():
    instances = [make(n) for n in range(8)]
    for instance in instances:
        instance.latency[(MODEL, "chat")] = Ewma(value=0.1)
    seen = _simulate(instances, 8000)
    assert len(seen) == 8 and max(seen.values()) <= 2 * 8000 / 8


def test_a_slow_instance_gets_clearly_less():
    instances = [make(n) for n in range(8)]
    for n, instance in enumerate(instances):
        instance.latency[(MODEL, "chat")] = Ewma(value=0.4 if n == 0 else 0.1)
    seen = _simulate(instances, 8000)
    fair = 8000 / 8
    assert seen[instances[0].name] < 0.5 * fair


def test_connection_refused_ejects_at_once_timeouts_after_three():
    a, b, c, d = make(1), make(2), make(3), make(4)
    policy = EjectionPolicy(consecutive_failures=3, base_s=1.0, max_s=10.0, max_ejected_share=0.5)
    assert record_failure(a, Failure.CONNECT, [a, b, c, d], policy, now=100.0)
    assert a.state is State.EJECTED and a.ejected_until == 101.0
    assert not record_failure(b, Failure.TIMEOUT, [a, b, c, d], policy, 100.0)
    assert not record_failure(b, Failure.TIMEOUT, [a, b, c, d], policy, 100.0)
    assert record_failure(b, Failure.TIMEOUT, [a, b, c, d], policy, 100.0)


def test_busy_is_not_held_against_an_instance():
    a = make(1)
    for _ in range(10):
        assert not record_failure(a, Failure.BUSY, [a], EjectionPolicy(), 0.0)
    assert a.state is State.HEALTHY and a.consecutive_failures == 0


def test_at_most_the_configured_share_is_ejected_for_soft_failures():
    fleet = [make(n) for n in range(4)]
    policy = EjectionPolicy(consecutive_failures=1, max_ejected_share=0.5)
    results = [record_failure(i, Failure.SERVER, fleet, policy, 0.0) for i in fleet]
    assert results == [True, True, False, False]


def test_backoff_doubles_and_is_capped_and_success_resets():
    policy = EjectionPolicy(base_s=1.0, max_s=10.0)
    assert [policy.backoff_s(n) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 4, 8, 10, 10]
    a = make(1)
    record_failure(a, Failure.CONNECT, [a, make(2)], policy, now=0.0)
    assert not due_for_probe(a, 0.5) and due_for_probe(a, 1.0)
    record_probe(a, False, policy, now=1.0)
    assert a.state is State.EJECTED and a.ejected_until == 3.0
    assert a.error_rate.value > 0
    record_probe(a, True, policy, now=3.0)
    assert a.state is State.HEALTHY and a.error_rate.value == 0.0, "a returning instance starts afresh"
    record_success(a)
    assert a.ejections == 0


def test_probe_success_does_not_end_an_ejection_early_and_failure_marks_down():
    policy = EjectionPolicy(base_s=5.0)
    a, b = make(1), make(2)
    record_failure(a, Failure.CONNECT, [a, b], policy, now=0.0)
    record_probe(a, True, policy, now=1.0)
    assert a.state is State.EJECTED
    record_probe(b, False, policy, now=1.0)
    assert b.state is State.DOWN
    record_probe(b, True, policy, now=2.0)
    assert b.state is State.HEALTHY


def test_budget_allows_a_share_of_extra_attempts():
    budget = Budget(ratio=0.2, cap=2.0, tokens=0.0)
    spent = 0
    for _ in range(100):
        budget.deposit()
        spent += budget.try_spend()
    assert spent == 20


def test_latency_window_percentiles():
    window = LatencyWindow(size=100)
    for n in range(1, 201):
        window.add(n / 1000)
    assert window.percentile(50) == 0.15 and window.percentile(95) == 0.195 and len(window.samples) == 100


async def test_admission_serves_interactive_before_bulk_and_times_out():
    queue = AdmissionQueue(max_waiting=10)
    slots = {"free": 0}
    instance = make(1)
    served: list[str] = []

    def picker(label: str):
        def pick():
            if slots["free"] > 0:
                slots["free"] -= 1
                served.append(label)
                return instance
            return None
        return pick

    release = lambda _: None  # noqa: E731 - nothing to give back in this test
    bulk = asyncio.create_task(queue.wait(Priority.BULK, picker("bulk"), release, 5))
    await asyncio.sleep(0)
    chat = asyncio.create_task(queue.wait(Priority.INTERACTIVE, picker("chat"), release, 5))
    await asyncio.sleep(0)
    assert queue.has_waiters_before(Priority.INTERACTIVE) and len(queue) == 2
    slots["free"] = 1
    queue.dispatch()
    assert await chat is instance and served == ["chat"]
    slots["free"] = 1
    queue.dispatch()
    assert await bulk is instance and served == ["chat", "bulk"]
    with pytest.raises(TimeoutError):
        await queue.wait(Priority.INTERACTIVE, picker("late"), release, 0.01)
    assert len(queue) == 0


def test_fleet_file():
    configs = parse_fleet("""
instances:
  - url: http://gpu1:11434/
    weight: 2
    max_concurrency: 8
    labels: [chat]
  - http://cpu1:11434
  - {url: "http://vllm:8000", api: openai, name: vllm}
""")
    assert [(c.name, c.weight, c.max_concurrency, sorted(c.labels), c.api) for c in configs] == [
        ("gpu1:11434", 2.0, 8, ["chat"], "ollama"), ("cpu1:11434", 1.0, 4, [], "ollama"),
        ("vllm", 1.0, 4, [], "openai")]
    with pytest.raises(ValueError, match="labels must be among"):
        parse_fleet("instances: [{url: 'http://a:1', labels: [gpu]}]")
    with pytest.raises(ValueError, match="unknown keys"):
        parse_fleet("instances: [{url: 'http://a:1', wieght: 2}]")
    with pytest.raises(ValueError, match="non-empty"):
        parse_fleet("instances: []")


def test_a_cold_instance_competes_when_loading_there_is_cheap():
    warm, cold = make(1), make(2)
    warm.models_loaded.add(MODEL)
    warm.latency[(MODEL, "chat")] = Ewma(value=0.5)
    cold.latency[(MODEL, "chat")] = Ewma(value=0.5)
    warm.in_flight = 2  # half full: 0.75 s expected
    cold.load_time[MODEL] = Ewma(value=0.001)  # loading here costs next to nothing: 0.501 s
    assert choose([warm, cold], MODEL, "chat", random.Random(0)) is cold
    cold.load_time[MODEL] = Ewma(value=8.0)  # a real cold load: stay warm
    assert all(choose([warm, cold], MODEL, "chat", random.Random(n)) is warm for n in range(40))


def test_a_stale_slow_estimate_fades_so_the_instance_is_tried_again():
    from tsa.fleet.policy import LATENCY_HALF_LIFE_S, current_latency

    judged, others = make(1), [make(n) for n in range(2, 5)]
    judged.latency[(MODEL, "chat")] = Ewma(value=1.0, updated_at=100.0)  # one slow call, long ago
    for other in others:
        other.latency[(MODEL, "chat")] = Ewma(value=0.1, updated_at=100.0)
        other.in_flight = 1  # the others are busy: an idle instance is worth a try once its verdict fades
    assert current_latency(judged, MODEL, "chat", prior=0.1, now=100.0) == 1.0
    assert current_latency(judged, MODEL, "chat", prior=0.1, now=100.0 + LATENCY_HALF_LIFE_S) == pytest.approx(0.55)
    fresh = [choose([judged, *others], MODEL, "chat", random.Random(n), now=100.0) for n in range(200)]
    later = [choose([judged, *others], MODEL, "chat", random.Random(n), now=130.0) for n in range(200)]
    assert judged not in fresh and judged in later


def test_an_instance_status_becomes_the_error_it_means():
    from tsa.errors import BackendError, BackendUnavailable, UnknownModel
    from tsa.fleet.client import status_error

    url = "http://gpu-3:11434"
    assert status_error(200, b"", url, "m") is None
    missing = status_error(404, b'{"error": "model \\"m\\" not found"}', url, "m")
    assert isinstance(missing, UnknownModel) and 'not found' in missing.message
    busy = status_error(503, b'{"error": "server busy"}', url, "m")
    assert isinstance(busy, BackendUnavailable) and "gpu-3" in busy.message
    openai_shaped = status_error(400, b'{"error": {"message": "bad stop"}}', url, "m")
    assert isinstance(openai_shaped, BackendError) and openai_shaped.message.endswith("bad stop")
    not_json = status_error(500, b"<html>oops</html>", url, None)
    assert isinstance(not_json, BackendError) and "<html>oops</html>" in not_json.message
    # Without a model (a probe), a 404 is the instance's error, not an unknown model.
    assert not isinstance(status_error(404, b"{}", url, None), UnknownModel)

"""What observability costs: the instrumentation on one cached answer's path, and one /metrics scrape.

    python -m bench.monitoring [--calls 200000]

In process, no I/O: per-call costs of the question classifier, the client labeler and the metric
updates a cached /api/rag-chat makes, and the exposition of a registry holding a fleet of eight
instances and 100 clients (what Prometheus reads from each replica every 15 s).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from prometheus_client import generate_latest

from bench.common import table
from tsa import metrics
from tsa.access import Principal, Role, Scope
from tsa.api.clients import ClientLabels
from tsa.rag.question_types import classify_question

QUESTIONS = ["What is the tightening torque of the impeller nut?", "How do I replace the mechanical seal?",
             "What does E-17 mean?", "The pump is leaking at the shaft, why?", "Tell me about the HF-22 pump",
             "How often should the filter be replaced?", "Steps to bleed the hydraulic circuit",
             "Which oil does the gearbox need?"]


def per_call_us(function: Callable[[int], object], calls: int) -> float:
    started = time.perf_counter()
    for n in range(calls):
        function(n)
    return (time.perf_counter() - started) / calls * 1e6


def http_metrics(n: int) -> None:
    """What the middleware records for one /api request."""
    metrics.CLIENT_REQUESTS.labels("van-12").inc()
    metrics.HTTP_REQUESTS.labels("/api/rag-chat", "POST", "200").inc()
    metrics.HTTP_DURATION.labels("/api/rag-chat", "POST").observe(0.0015)


def answer_metrics(n: int) -> None:
    """What a cached answer records: its question type, outcome and time to first token."""
    metrics.RAG_QUESTIONS.labels("procedure").inc()
    metrics.RAG_ANSWERS.labels("answered").inc()
    metrics.TIME_TO_FIRST_TOKEN.labels("cached").observe(0.0012)
    metrics.CACHE_EVENTS.labels("inference", "hit").inc()


def populate_fleet_and_clients() -> None:
    for n in range(1, 9):
        name = f"ollama-{n}:11434"
        metrics.zero_instance_labels(name)
        metrics.FLEET_HEALTHY.labels(name).set(1)
        for kind in metrics.FLEET_KINDS:
            metrics.FLEET_DURATION.labels(name, kind).observe(0.2)
    for n in range(100):
        metrics.CLIENT_REQUESTS.labels(f"client-{n}").inc()
    for route in ("/api/rag-chat", "/api/search", "/api/documents", "/api/documents/{document_id}"):
        for status in ("200", "404", "422"):
            metrics.HTTP_REQUESTS.labels(route, "POST", status).inc()
        metrics.HTTP_DURATION.labels(route, "POST").observe(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    calls = parser.parse_args().calls
    labels = ClientLabels(100)
    caller = Principal(1, "ana", Role.viewer, Scope(frozenset({1}), frozenset()), "key", key_id=12)
    fresh = classify_question.__wrapped__  # without the memo: a question seen for the first time
    costs = [
        ["classify a repeated question (memoized)", per_call_us(lambda n: classify_question(QUESTIONS[n % 8]), calls)],
        ["classify a new question", per_call_us(lambda n: fresh(QUESTIONS[n % 8]), calls)],
        ["client label (X-Client-Id)", per_call_us(lambda n: labels.label("van-12", None), calls)],
        ["client label (signed-in user and key)", per_call_us(lambda n: labels.label(None, caller), calls)],
        ["HTTP metrics of one request", per_call_us(http_metrics, calls)],
        ["answer metrics of one cached answer", per_call_us(answer_metrics, calls)],
    ]
    total = costs[0][1] + costs[2][1] + costs[4][1] + costs[5][1]
    costs.append(["total per cached answer (repeated question, client id)", total])
    print(table(["instrumentation", "µs per call"], [[name, round(us, 2)] for name, us in costs]))
    print(f"\nA cached answer takes 1.5 ms at the median over HTTP (README, Cache): instrumentation is "
          f"{total / 1500 * 100:.1f}% of it.\n")

    populate_fleet_and_clients()
    scrapes = 200
    started = time.perf_counter()
    for _ in range(scrapes):
        body = generate_latest()
    scrape_ms = (time.perf_counter() - started) / scrapes * 1000
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    print(table(["/metrics (8 instances, 100 clients)", "series", "bytes", "ms per scrape", "CPU share at 15 s"],
                [["exposition", series, len(body), round(scrape_ms, 2), f"{scrape_ms / 15_000 * 100:.3f}%"]]))


if __name__ == "__main__":
    main()

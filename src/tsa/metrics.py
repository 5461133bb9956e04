"""Every Prometheus metric of the service, defined once. Label values are bounded."""

from __future__ import annotations

from typing import Any

import prometheus_client

from tsa import __version__


class _RememberedLabels:
    """``labels(...)`` answered from a dict after its first call with the same values.
    prometheus_client converts, checks and takes a lock on every call, and a proxied chat calls it
    about a dozen times. Removing a series forgets what was remembered."""

    _remembered: dict[tuple[Any, ...], Any]

    def labels(self, *values: Any, **named: Any) -> Any:
        if named:
            return super().labels(*values, **named)  # type: ignore[misc]
        try:
            return self._remembered[values]
        except AttributeError:
            self._remembered = {}
        except KeyError:
            pass
        child = self._remembered[values] = super().labels(*values)  # type: ignore[misc]
        return child

    def remove(self, *values: Any) -> None:
        self._remembered = {}
        super().remove(*values)  # type: ignore[misc]

    def clear(self) -> None:
        self._remembered = {}
        super().clear()  # type: ignore[misc]


class Counter(_RememberedLabels, prometheus_client.Counter):
    pass


class Gauge(_RememberedLabels, prometheus_client.Gauge):
    pass


class Histogram(_RememberedLabels, prometheus_client.Histogram):
    pass


# 1 ms to 60 s: cached answers take milliseconds, cold model loads tens of seconds.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter(
    "tsa_http_requests_total", "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"])
HTTP_DURATION = Histogram(
    "tsa_http_request_duration_seconds", "Time to the full HTTP response (streams: to the last byte).",
    ["route", "method"], buckets=LATENCY_BUCKETS_S)

BUILD_INFO = Gauge("tsa_build_info", "Always 1; the running version is in the label.", ["version"])
BUILD_INFO.labels(__version__).set(1)

# Requests per client: the signed-in user (``user:<name>``) and key (``key:<prefix>``), else the
# self-declared X-Client-Id, else "anonymous"; bounded (METRICS_MAX_CLIENTS).
CLIENT_REQUESTS = Counter("tsa_client_requests_total", "API requests per client.", ["client"])

AUTH_EVENTS_NAMES = ("success", "failure", "rate_limited", "forbidden")
AUTH_EVENTS = Counter(
    "tsa_auth_events_total",
    "Access decisions: success (a caller signed in), failure (missing or bad credentials), rate_limited "
    "(429), forbidden (signed in, without the right).", ["event"])
RATE_LIMIT_BYPASSES = Counter(
    "tsa_rate_limit_bypasses_total", "Requests let through unchecked because Redis was unavailable (fail open).")

DEPENDENCY_UP = Gauge(
    "tsa_dependency_up", "1 when the last check of a dependency (postgres, redis) succeeded, else 0.",
    ["dependency"])
ACCESS_ANNOUNCEMENTS_UP = Gauge(
    "tsa_access_announcements_up", "1 while this replica listens for access changes announced by PostgreSQL "
    "(a known key then costs no query on the drop-in APIs), else 0.")

RAG_STAGES = ("embed", "retrieve", "first_token", "generate", "grounding")
RAG_STAGE_DURATION = Histogram(
    "tsa_rag_stage_duration_seconds",
    "Time of each RAG stage: embed, retrieve, first_token (from opening the generation), generate, grounding "
    "(checking the answer against its passages).",
    ["stage"], buckets=LATENCY_BUCKETS_S)
TIME_TO_FIRST_TOKEN = Histogram(
    "tsa_rag_time_to_first_token_seconds",
    "From the question's arrival to the first piece of the answer, by how it was answered "
    "(generated, cached, no_context).", ["answer"], buckets=LATENCY_BUCKETS_S)
ANSWER_KINDS = ("generated", "cached", "no_context")
RAG_OUTCOMES = ("answered", "no_context", "error", "cancelled")
RAG_ANSWERS = Counter(
    "tsa_rag_answers_total",
    "Questions by outcome: answered (with at least one source), no_context (no relevant source), error, "
    "cancelled (the client left before the end).", ["outcome"])
GROUNDING_RESULTS = ("supported", "unsupported", "replaced")
RAG_GROUNDING = Counter(
    "tsa_rag_grounding_total",
    "Answers with sources by grounding result: supported (every checked claim is in a cited passage), "
    "unsupported (some claim is not: marked), replaced (extractive policy: quoted passages instead).", ["result"])
FEEDBACK_RATINGS = ("up", "down")
# ``model``: the chat model that answered (models the fleet serves: unknown ones are refused before answering).
FEEDBACK = Counter("tsa_feedback_total", "Feedback given on answers, by rating (up, down) and model.",
                   ["rating", "model"])
REWRITE_OUTCOMES = ("model", "cached", "rules")
RAG_REWRITES = Counter(
    "tsa_rag_rewrites_total",
    "Follow-up questions made to stand alone before retrieval: model (rewritten by the chat model), cached "
    "(an earlier rewrite), rules (the model's rewrite was unusable: the follow-up joined to its question).",
    ["outcome"])
SEARCH_REWRITE_OUTCOMES = ("rewritten", "cached", "unusable", "failed")
RAG_SEARCH_REWRITES = Counter(
    "tsa_rag_search_rewrites_total",
    "Weak first searches searched again in the chat model's words (QUERY_REWRITE=weak): rewritten, cached (an "
    "earlier rewrite), unusable (the model's reply was not a query), failed (the model did not answer in time).",
    ["outcome"])
QUESTION_TYPES = ("procedure", "troubleshooting", "specification", "general")
RAG_QUESTIONS = Counter(
    "tsa_rag_questions_total", "Questions by type (procedure, troubleshooting, specification, general).",
    ["type"])

INGEST_OUTCOMES = ("ready", "duplicate", "failed", "reparsed")
INGEST_DOCUMENTS = Counter(
    "tsa_ingest_documents_total", "Documents processed by outcome: ready, duplicate, failed, reparsed.",
    ["outcome"])
INGEST_CHUNKS = Counter("tsa_ingest_chunks_total", "Chunks written by ingestion.")
INGEST_DURATION = Histogram(
    "tsa_ingest_duration_seconds", "Time to parse, embed and publish one document.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0))
INGEST_STAGES = ("parsing", "embedding", "publishing")
INGEST_STAGE_DURATION = Histogram(
    "tsa_ingest_stage_duration_seconds", "Time of each ingestion stage of one document: parsing (with OCR), "
    "embedding, publishing.", ["stage"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                                                   120.0, 300.0, 600.0))
INGEST_OCR_PAGES = Counter("tsa_ingest_ocr_pages_total", "Pages without a text layer read by OCR.")
# The queue (procrastinate's tables), sampled by every API replica and worker; ``priority`` is
# upload, bulk or reparse.
JOB_PRIORITIES = ("upload", "bulk", "reparse")
INGEST_QUEUE_DEPTH = Gauge("tsa_ingest_queue_depth", "Ingestion jobs waiting, by priority.", ["priority"])
INGEST_QUEUE_AGE = Gauge(
    "tsa_ingest_queue_oldest_seconds", "Age of the oldest waiting ingestion job, by priority (0: none waits).",
    ["priority"])
INGEST_JOBS_RUNNING = Gauge("tsa_ingest_jobs_running", "Ingestion jobs being worked on, across all workers.")
JOB_OUTCOMES = ("completed", "retried", "gave_up", "cancelled", "interrupted")
INGEST_JOBS = Counter(
    "tsa_ingest_jobs_total",
    "Ingestion jobs ended by this process's worker: completed (the document is ready or failed for a reason "
    "of its own), retried (transient trouble, queued again with back-off), gave_up (still failing after "
    "the last attempt), cancelled (the document was deleted), interrupted (the worker stopped; queued again).",
    ["outcome"])
INGEST_STALLED_RECOVERED = Counter(
    "tsa_ingest_stalled_jobs_recovered_total",
    "Jobs of workers that stopped sending heartbeats (killed, or their machine lost), queued again.")

# The fleet. ``llm_instance`` is the instance's name (host:port), bounded by the fleet's size. Not
# ``instance``: Prometheus gives that label to the scraped API replica.
SLOW_CLIENTS_DROPPED = Counter(
    "tsa_http_slow_clients_dropped_total", "Responses ended because the client stopped reading (write timeout).")

# The drop-in APIs (Ollama's and OpenAI's surfaces), per API, endpoint and model.
GATEWAY_REQUESTS = Counter(
    "tsa_gateway_requests_total",
    "Drop-in API calls by api (ollama, openai), endpoint, model and outcome (ok, error, cancelled).",
    ["api", "endpoint", "model", "outcome"])
GATEWAY_DURATION = Histogram(
    "tsa_gateway_request_duration_seconds", "Drop-in API calls, to the final chunk of the answer.",
    ["api", "endpoint"], buckets=LATENCY_BUCKETS_S)
GATEWAY_TOKENS = Counter(
    "tsa_gateway_tokens_total", "Tokens through the drop-in APIs, by api, model and direction (in, out).",
    ["api", "model", "direction"])

FLEET_IN_FLIGHT = Gauge("tsa_fleet_in_flight_requests", "Calls in flight per LLM instance.", ["llm_instance"])
FLEET_KINDS = ("embed", "chat")
FLEET_OUTCOMES = ("success", "error", "timeout", "unavailable", "busy", "model_missing", "client_error", "cancelled")
FLEET_REQUESTS = Counter(
    "tsa_fleet_requests_total",
    "Calls to LLM instances by kind (embed, chat) and outcome (success, error, timeout, unavailable, busy, "
    "model_missing, client_error, cancelled).", ["llm_instance", "kind", "outcome"])
FLEET_DURATION = Histogram(
    "tsa_fleet_request_duration_seconds", "Duration of successful calls (chat: to the last token).",
    ["llm_instance", "kind"], buckets=LATENCY_BUCKETS_S)
FLEET_HEALTHY = Gauge("tsa_fleet_instance_healthy", "1 when the instance takes traffic, else 0.", ["llm_instance"])
FLEET_STATE = Gauge("tsa_fleet_instance_state", "1 for the instance's current state.", ["llm_instance", "state"])
FLEET_MODELS_LOADED = Gauge("tsa_fleet_models_loaded", "Models loaded on the instance (per /api/ps).", ["llm_instance"])
FLEET_RETRIES = Counter("tsa_fleet_retries_total", "Calls retried on another instance.", ["kind"])
FLEET_RESUMED_STREAMS = Counter("tsa_fleet_resumed_streams_total",
                                "Chat streams carried on by another instance after theirs died mid-stream.",
                                ["llm_instance"])
FLEET_EJECTIONS = Counter("tsa_fleet_ejections_total", "Instances ejected by passive health checks.", ["llm_instance"])
FLEET_QUEUE_DEPTH = Gauge("tsa_fleet_queue_depth", "Calls waiting for a free instance slot.", ["priority"])
FLEET_REJECTION_REASONS = ("queue_full", "queue_timeout")
FLEET_REJECTIONS = Counter(
    "tsa_fleet_rejections_total", "Calls refused because the fleet is saturated (queue_full, queue_timeout).",
    ["reason"])
FLEET_HEDGE_WINNERS = ("hedge", "primary")
FLEET_HEDGES = Counter("tsa_fleet_hedges_total", "Hedged embedding calls by winner (hedge, primary).", ["winner"])
FLEET_PANIC_ROUTES = Counter("tsa_fleet_panic_routes_total", "Calls routed while no instance was healthy.")

# The embedded servers `tsa serve` supervises (README "Operations").
EMBEDDED_SERVICES = ("engine", "redis", "postgres")
EMBEDDED_RESTARTS = Counter(
    "tsa_embedded_restarts_total",
    "Embedded servers found dead and started again by `tsa serve`, by service (engine, redis, postgres) and "
    "outcome (ok, failed: tried again after a back-off).", ["service", "outcome"])

# Web search fallback (README "Web search").
WEB_SEARCH_OUTCOMES = ("used", "no_results", "error", "blocked")
WEB_SEARCH = Counter(
    "tsa_web_search_total",
    "Web searches by provider and outcome: used (pages answered from), no_results (nothing found, or nothing "
    "readable), error (the provider failed or timed out), blocked (every result was on a refused domain).",
    ["provider", "outcome"])
WEB_FALLBACK_REASONS = ("nothing_relevant", "not_grounded", "always")
WEB_FALLBACKS = Counter(
    "tsa_web_fallbacks_total",
    "Questions for which the web was searched, by reason: nothing_relevant (the manuals had nothing close; "
    "web_search auto), not_grounded (the manuals' answer failed its grounding check or declined; auto), "
    "always (asked for). Divided by tsa_rag_questions_total: the fallback rate.", ["reason"])
WEB_FETCH_OUTCOMES = ("ok", "cached", "blocked", "too_large", "not_html", "redirects", "timeout", "error")
WEB_PAGES = Counter("tsa_web_pages_total", "Web pages asked for, by outcome.", ["outcome"])
WEB_FETCH_DURATION = Histogram(
    "tsa_web_fetch_duration_seconds", "Fetching one page (redirects included; cached pages not counted).",
    buckets=LATENCY_BUCKETS_S)

# Caches. ``layer`` is embedding, chunks, inference or web.
ANSWER_REVALIDATIONS = Counter(
    "tsa_answer_revalidations_total",
    "Cached answers from before the corpus last changed, checked against what the question now retrieves: "
    "same (served) or changed (answered afresh).", ["outcome"])
CACHE_LAYERS = ("embedding", "chunks", "inference", "web")
CACHE_EVENT_NAMES = ("hit", "miss", "coalesced", "bypassed", "error", "oversize")
CACHE_EVENTS = Counter(
    "tsa_cache_events_total",
    "Cache events per layer: hit, miss, coalesced (waited for an identical call), bypassed (Redis "
    "unavailable or no-cache), error (a Redis command failed or an entry was unreadable), oversize (not "
    "stored).", ["layer", "event"])


def _zero_known_labels() -> None:
    """Create every known label combination at 0, so rates read 0 rather than "no data" before the first event."""
    for event in AUTH_EVENTS_NAMES:
        AUTH_EVENTS.labels(event)
    for outcome in RAG_OUTCOMES:
        RAG_ANSWERS.labels(outcome)
    for outcome in REWRITE_OUTCOMES:
        RAG_REWRITES.labels(outcome)
    for outcome in SEARCH_REWRITE_OUTCOMES:
        RAG_SEARCH_REWRITES.labels(outcome)
    for result in GROUNDING_RESULTS:
        RAG_GROUNDING.labels(result)
    for question_type in QUESTION_TYPES:
        RAG_QUESTIONS.labels(question_type)
    for stage in RAG_STAGES:
        RAG_STAGE_DURATION.labels(stage)
    for kind in ANSWER_KINDS:
        TIME_TO_FIRST_TOKEN.labels(kind)
    for outcome in INGEST_OUTCOMES:
        INGEST_DOCUMENTS.labels(outcome)
    for stage in INGEST_STAGES:
        INGEST_STAGE_DURATION.labels(stage)
    for outcome in JOB_OUTCOMES:
        INGEST_JOBS.labels(outcome)
    for priority in JOB_PRIORITIES:
        INGEST_QUEUE_DEPTH.labels(priority)
        INGEST_QUEUE_AGE.labels(priority)
    for reason in FLEET_REJECTION_REASONS:
        FLEET_REJECTIONS.labels(reason)
    for winner in FLEET_HEDGE_WINNERS:
        FLEET_HEDGES.labels(winner)
    for kind in FLEET_KINDS:
        FLEET_RETRIES.labels(kind)
    for outcome in ("same", "changed"):
        ANSWER_REVALIDATIONS.labels(outcome)
    for service in EMBEDDED_SERVICES:
        for outcome in ("ok", "failed"):
            EMBEDDED_RESTARTS.labels(service, outcome)
    for reason in WEB_FALLBACK_REASONS:
        WEB_FALLBACKS.labels(reason)
    for outcome in WEB_FETCH_OUTCOMES:
        WEB_PAGES.labels(outcome)
    for layer in CACHE_LAYERS:
        for event in CACHE_EVENT_NAMES:
            CACHE_EVENTS.labels(layer, event)


def zero_instance_labels(instance: str) -> None:
    """The per-instance series of a new fleet member, at 0."""
    for kind in FLEET_KINDS:
        for outcome in FLEET_OUTCOMES:
            FLEET_REQUESTS.labels(instance, kind, outcome)
    FLEET_EJECTIONS.labels(instance)
    FLEET_IN_FLIGHT.labels(instance).set(0)


_zero_known_labels()

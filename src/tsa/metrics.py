"""Every Prometheus metric of the service, defined once. Label values are bounded."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# 1 ms to 60 s: cached answers take milliseconds, cold model loads tens of seconds.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter(
    "tsa_http_requests_total", "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"])
HTTP_DURATION = Histogram(
    "tsa_http_request_duration_seconds", "Time to the full HTTP response (streams: to the last byte).",
    ["route", "method"], buckets=LATENCY_BUCKETS_S)

RAG_STAGE_DURATION = Histogram(
    "tsa_rag_stage_duration_seconds", "Time of each RAG stage: embed, retrieve, first_token, generate.",
    ["stage"], buckets=LATENCY_BUCKETS_S)
RAG_ANSWERS = Counter(
    "tsa_rag_answers_total", "RAG answers by outcome: answered (with sources), no_context, error, cancelled (client left mid-stream).",
    ["outcome"])

INGEST_DOCUMENTS = Counter(
    "tsa_ingest_documents_total", "Documents processed by outcome: ready, duplicate, failed.", ["outcome"])
INGEST_CHUNKS = Counter("tsa_ingest_chunks_total", "Chunks written by ingestion.")
INGEST_DURATION = Histogram(
    "tsa_ingest_duration_seconds", "Time to parse, embed and publish one document.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0))

# The fleet. ``instance`` is the instance's name (host:port): bounded by the fleet's size.
FLEET_IN_FLIGHT = Gauge("tsa_fleet_in_flight_requests", "Calls in flight per LLM instance.", ["instance"])
FLEET_REQUESTS = Counter(
    "tsa_fleet_requests_total",
    "Calls to LLM instances by kind (embed, chat) and outcome (success, error, timeout, unavailable, busy, "
    "model_missing, client_error, cancelled).", ["instance", "kind", "outcome"])
FLEET_DURATION = Histogram(
    "tsa_fleet_request_duration_seconds", "Duration of successful calls (chat: to the last token).",
    ["instance", "kind"], buckets=LATENCY_BUCKETS_S)
FLEET_HEALTHY = Gauge("tsa_fleet_instance_healthy", "1 when the instance takes traffic, else 0.", ["instance"])
FLEET_STATE = Gauge("tsa_fleet_instance_state", "1 for the instance's current state.", ["instance", "state"])
FLEET_MODELS_LOADED = Gauge("tsa_fleet_models_loaded", "Models loaded on the instance (per /api/ps).", ["instance"])
FLEET_RETRIES = Counter("tsa_fleet_retries_total", "Calls retried on another instance.", ["kind"])
FLEET_EJECTIONS = Counter("tsa_fleet_ejections_total", "Instances ejected by passive health checks.", ["instance"])
FLEET_QUEUE_DEPTH = Gauge("tsa_fleet_queue_depth", "Calls waiting for a free instance slot.", ["priority"])
FLEET_REJECTIONS = Counter(
    "tsa_fleet_rejections_total", "Calls refused because the fleet is saturated (queue_full, queue_timeout).",
    ["reason"])
FLEET_HEDGES = Counter("tsa_fleet_hedges_total", "Hedged embedding calls by winner (hedge, primary).", ["winner"])
FLEET_PANIC_ROUTES = Counter("tsa_fleet_panic_routes_total", "Calls routed while no instance was healthy.")

# Caches. ``layer`` is embedding, chunks or inference.
CACHE_EVENTS = Counter(
    "tsa_cache_events_total",
    "Cache events per layer: hit, miss, coalesced (waited for an identical call), bypassed (Redis "
    "unavailable or no-cache), error, oversize (not stored).", ["layer", "event"])

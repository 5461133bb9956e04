"""Every Prometheus metric of the service, defined once. Label values are bounded."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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

"""Write the three Grafana dashboards (performance, health, business) as JSON.

The panels are defined here, once, in a few lines each; the JSON under
``grafana/dashboards/`` is generated: edit this file, then run

    python monitoring/build_dashboards.py

A test fails when the committed JSON and this file disagree, and another evaluates every
query against a real Prometheus scraping a running service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # the uid provisioned in grafana/provisioning
RATE = "$__rate_interval"
RANGE = "$__range"
API = 'route=~"/api/.*"'  # user-facing routes: not /metrics scrapes or probes
SIGNED_IN = 'client=~"user:.*"'  # client labels of signed-in callers
USERS = f"tsa_client_requests_total{{{SIGNED_IN}}}"


def quantile(q: float, metric: str, by: str = "", selector: str = "", window: str = RATE) -> str:
    """``histogram_quantile(q, sum by (le) (rate(...)))``: aggregate the buckets of every replica first."""
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, {rate(metric + '_bucket', selector, labels, window)})"


def rate(metric: str, selector: str = "", by: str | None = None, window: str = RATE) -> str:
    series = f"{metric}{{{selector}}}" if selector else metric
    grouping = f" by ({by}) " if by else ""
    return f"sum{grouping}(rate({series}[{window}]))"


def _and(*selectors: str) -> str:
    return ", ".join(s for s in selectors if s)


def cache_hit_ratio(by: str = "layer", selector: str = "", window: str = RATE) -> str:
    hits = rate("tsa_cache_events_total", _and(selector, 'event="hit"'), by, window)
    lookups = rate("tsa_cache_events_total", _and(selector, 'event=~"hit|miss"'), by, window)
    return f"{hits} / {lookups}"


def answered_ratio(outcomes: str, of: str | None, window: str) -> str:
    """Share of questions with ``outcomes`` among those with ``of`` (None: all)."""
    part = rate("tsa_rag_answers_total", f'outcome=~"{outcomes}"', window=window)
    whole = rate("tsa_rag_answers_total", f'outcome=~"{of}"' if of else "", window=window)
    return f"{part} / {whole}"


def ratio(metric: str, part: str, by: str | None = None, window: str = RATE, selector: str = "") -> str:
    """Share of ``metric`` matching ``part``; ``or vector(0)`` when nothing matches (no errors at all)."""
    matching = rate(metric, _and(selector, part), by, window)
    if by is None:
        matching = f"({matching} or vector(0))"
    return f"{matching} / {rate(metric, selector, by, window)}"


@dataclass
class Query:
    expr: str
    legend: str = ""


@dataclass
class Panel:
    title: str
    description: str
    queries: list[Query]
    kind: str = "timeseries"  # timeseries, stat, table, piechart
    unit: str = "short"
    width: int = 12
    height: int = 8
    stack: bool = False
    mappings: list[dict[str, Any]] = field(default_factory=list)
    renames: dict[str, str] = field(default_factory=dict)  # table columns


def q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


UP_DOWN = [{"type": "value", "options": {"0": {"text": "down", "color": "red"},
                                          "1": {"text": "up", "color": "green"}}}]


def _target(n: int, query: Query, panel: Panel) -> dict[str, Any]:
    target: dict[str, Any] = {"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": query.expr,
                              "legendFormat": query.legend or "__auto"}
    if panel.kind in ("table", "stat", "piechart"):
        target["instant"], target["range"] = True, False
    if panel.kind == "table":
        target["format"] = "table"
    return target


def _panel(panel_id: int, panel: Panel, x: int, y: int) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit, "mappings": panel.mappings}
    options: dict[str, Any] = {}
    if panel.kind == "timeseries":
        defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if panel.stack else 0,
                              "stacking": {"mode": "normal" if panel.stack else "none", "group": "A"}}
        options = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                   "tooltip": {"mode": "multi", "sort": "desc"}}
    elif panel.kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "value", "graphMode": "none", "textMode": "auto"}
    elif panel.kind == "piechart":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "pieType": "donut", "legend": {"displayMode": "table", "placement": "right",
                                                  "values": ["value", "percent"], "showLegend": True}}
    result: dict[str, Any] = {
        "id": panel_id, "type": panel.kind, "title": panel.title, "description": panel.description,
        "datasource": DATASOURCE, "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "targets": [_target(n, query, panel) for n, query in enumerate(panel.queries)],
        "fieldConfig": {"defaults": defaults, "overrides": []}, "options": options,
    }
    if panel.kind == "table":
        result["transformations"] = [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": panel.renames}},
        ]
    return result


def dashboard(uid: str, title: str, description: str, rows: list[list[Panel]]) -> dict[str, Any]:
    panels, y, panel_id = [], 0, 1
    for row in rows:
        assert sum(p.width for p in row) <= 24, f"{title}: a row wider than the grid"
        x = 0
        for panel in row:
            panels.append(_panel(panel_id, panel, x, y))
            panel_id, x = panel_id + 1, x + panel.width
        y += max(p.height for p in row)
    return {
        "uid": uid, "title": title, "description": description, "tags": ["tsa"], "editable": True,
        "schemaVersion": 39, "version": 1, "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser", "graphTooltip": 1, "panels": panels,
        "templating": {"list": []}, "annotations": {"list": []},
    }


def performance() -> dict[str, Any]:
    api_latency = "tsa_http_request_duration_seconds"
    return dashboard("tsa-performance", "TSA — performance",
                     "Latency, throughput, cache effectiveness and time to first token.", [
        [Panel("API requests per second", "All /api routes, every replica.",
               [q(rate("tsa_http_requests_total", API))], "stat", "reqps", 6, 4),
         Panel("API latency P95", "Time to the full response (streams: the last byte).",
               [q(quantile(0.95, api_latency, selector=API))], "stat", "s", 6, 4),
         Panel("Time to first token P95", "From the question's arrival to the first piece of the answer.",
               [q(quantile(0.95, "tsa_rag_time_to_first_token_seconds"))], "stat", "s", 6, 4),
         Panel("Answer cache hit rate", "Share of questions answered from the inference cache.",
               [q(cache_hit_ratio(by="", selector='layer="inference"'))], "stat", "percentunit", 6, 4)],
        [Panel("API latency P50 / P95 / P99", "histogram_quantile over the buckets of every replica.",
               [q(quantile(0.5, api_latency, selector=API), "p50"), q(quantile(0.95, api_latency, selector=API), "p95"),
                q(quantile(0.99, api_latency, selector=API), "p99")], unit="s"),
         Panel("Requests per second by route", "",
               [q(rate("tsa_http_requests_total", API, by="route"), "{{route}}")], unit="reqps", stack=True)],
        [Panel("Cache hit rate per layer", "hits / (hits + misses) for embedding, chunks and inference.",
               [q(cache_hit_ratio(), "{{layer}}")], unit="percentunit"),
         Panel("Time to first token P50 / P95", "By how the answer was produced: generated, cached, no_context.",
               [q(quantile(0.5, "tsa_rag_time_to_first_token_seconds", by="answer"), "{{answer}} p50"),
                q(quantile(0.95, "tsa_rag_time_to_first_token_seconds", by="answer"), "{{answer}} p95")], unit="s")],
        [Panel("RAG stage P95", "embed, retrieve, first_token (after opening the generation), generate.",
               [q(quantile(0.95, "tsa_rag_stage_duration_seconds", by="stage"), "{{stage}}")], unit="s"),
         Panel("LLM call latency P95 by kind", "Successful calls to the Ollama fleet (chat: to the last token).",
               [q(quantile(0.95, "tsa_fleet_request_duration_seconds", by="kind"), "{{kind}}")], unit="s")],
        [Panel("Drop-in APIs: requests per second by API and model",
               "Ollama's (/api/generate, /api/chat, …) and OpenAI's (/v1/…) surfaces, the manuals model included.",
               [q(rate("tsa_gateway_requests_total", by="api, model"), "{{api}} {{model}}")], unit="reqps", width=8,
               stack=True),
         Panel("Drop-in APIs: latency P95 by endpoint", "To the last byte of the answer.",
               [q(quantile(0.95, "tsa_gateway_request_duration_seconds", by="api, endpoint"), "{{api}} {{endpoint}}")],
               unit="s", width=8),
         Panel("Drop-in APIs: tokens per second", "In (prompt) and out (generated), by API.",
               [q(rate("tsa_gateway_tokens_total", by="api, direction"), "{{api}} {{direction}}")], width=8)],
        [Panel("Trend: requests per second, now and 1 h average", "",
               [q(rate("tsa_http_requests_total", API), "now"),
                q(rate("tsa_http_requests_total", API, window="1h"), "1 h average")], unit="reqps"),
         Panel("Trend: API latency P95, now and over 1 h", "",
               [q(quantile(0.95, api_latency, selector=API), "now"),
                q(quantile(0.95, api_latency, selector=API, window="1h"), "1 h")], unit="s")],
    ])


def health() -> dict[str, Any]:
    per_instance = "max by (llm_instance) (tsa_fleet_instance_healthy)"  # up if any replica routes to it
    failures = 'outcome=~"error|timeout|unavailable|busy"'
    return dashboard("tsa-health", "TSA — health",
                     "The LLM fleet, errors, load distribution, queueing and the service's dependencies.", [
        [Panel("Healthy LLM instances", "Instances taking traffic.", [q(f"sum({per_instance})")], "stat", width=4,
               height=4),
         Panel("LLM instances", "Instances in the fleet.", [q(f"count({per_instance})")], "stat", width=4, height=4),
         Panel("API replicas up", "Scraped replicas answering /metrics.", [q('sum(up{job="tsa"})')], "stat",
               width=4, height=4),
         Panel("PostgreSQL", "Reachable from every replica.", [q('min(tsa_dependency_up{dependency="postgres"})')],
               "stat", width=4, height=4, mappings=UP_DOWN),
         Panel("Redis", "Reachable from every replica.", [q('min(tsa_dependency_up{dependency="redis"})')],
               "stat", width=4, height=4, mappings=UP_DOWN),
         Panel("5xx ratio", "Server errors among /api responses.",
               [q(ratio("tsa_http_requests_total", 'status=~"5.."', selector=API))], "stat", "percentunit", 4, 4)],
        [Panel("LLM instances", "State, calls in flight, models loaded, calls per second and error ratio "
               "(last 5 min) per instance.",
               [q("max by (llm_instance, state) (tsa_fleet_instance_state) == 1"),
                q("sum by (llm_instance) (tsa_fleet_in_flight_requests)"),
                q("max by (llm_instance) (tsa_fleet_models_loaded)"),
                q(rate("tsa_fleet_requests_total", by="llm_instance", window="5m")),
                q(ratio("tsa_fleet_requests_total", failures, "llm_instance", "5m"))],
               "table", width=24, height=9,
               renames={"llm_instance": "instance", "Value #A": "current state (1)", "Value #B": "in flight",
                        "Value #C": "models loaded", "Value #D": "calls/s", "Value #E": "error ratio"})],
        [Panel("Load distribution: successful calls per second per instance", "",
               [q(rate("tsa_fleet_requests_total", 'outcome="success"', "llm_instance"), "{{llm_instance}}")],
               unit="reqps", stack=True),
         Panel("Calls in flight per instance", "",
               [q("sum by (llm_instance) (tsa_fleet_in_flight_requests)", "{{llm_instance}}")], stack=True)],
        [Panel("LLM error ratio per instance", "Errors, timeouts, refused connections and busy answers.",
               [q(ratio("tsa_fleet_requests_total", failures, "llm_instance"), "{{llm_instance}}")],
               unit="percentunit"),
         Panel("HTTP responses per second by status", "",
               [q(rate("tsa_http_requests_total", API, by="status"), "{{status}}")], unit="reqps", stack=True)],
        [Panel("Queue depth by priority", "Calls waiting for a free instance slot.",
               [q("sum by (priority) (tsa_fleet_queue_depth)", "{{priority}}")]),
         Panel("Rejections, retries, ejections per second", "Saturation (503), failover and passive health checks.",
               [q(rate("tsa_fleet_rejections_total", by="reason"), "rejected: {{reason}}"),
                q(rate("tsa_fleet_retries_total", by="kind"), "retried: {{kind}}"),
                q(rate("tsa_fleet_ejections_total"), "ejections"),
                q(rate("tsa_fleet_panic_routes_total"), "panic routes")])],
        [Panel("Access decisions per second", "success (signed in), failure (missing or bad credentials: 401), "
               "forbidden (403), rate_limited (429).",
               [q(rate("tsa_auth_events_total", by="event"), "{{event}}")], unit="reqps", stack=True),
         Panel("Refused share and rate-limit bypasses", "Share of access decisions refused (401, 403, 429); "
               "requests let through unchecked while Redis was away (limits fail open).",
               [q(ratio("tsa_auth_events_total", 'event=~"failure|forbidden|rate_limited"'), "refused share"),
                q(rate("tsa_rate_limit_bypasses_total"), "bypassed/s")])],
        [Panel("Ingestion workers up", "Separate `tsa worker` processes answering /metrics (API replicas with "
               "WORKER_IN_PROCESS run a worker too).", [q('sum(up{job="tsa-worker"})')], "stat", width=6, height=4),
         Panel("Ingestion jobs running", "Documents being parsed, embedded or published, across all workers.",
               [q("max(tsa_ingest_jobs_running)")], "stat", width=6, height=4),
         Panel("Ingestion jobs waiting", "Queued documents of every priority (the queue is shared: every "
               "process reports the same table, hence max).",
               [q("sum(max by (priority) (tsa_ingest_queue_depth))")], "stat", width=6, height=4),
         Panel("Oldest waiting ingestion job", "Age of the longest-waiting queued document.",
               [q("max(tsa_ingest_queue_oldest_seconds)")], "stat", "s", 6, 4)],
        [Panel("Ingestion queue depth by priority", "upload (single uploads, first), bulk (imports), reparse.",
               [q("max by (priority) (tsa_ingest_queue_depth)", "{{priority}}")], stack=True),
         Panel("Oldest waiting job by priority", "A growing age with nothing running means no worker is working.",
               [q("max by (priority) (tsa_ingest_queue_oldest_seconds)", "{{priority}}")], unit="s")],
        [Panel("Ingestion jobs per minute by outcome", "completed, retried (transient trouble, back-off), gave_up, "
               "cancelled (document deleted), interrupted (worker stopped); stalled: jobs of dead workers queued "
               "again.",
               [q(f'{rate("tsa_ingest_jobs_total", by="outcome")} * 60', "{{outcome}}"),
                q(f'{rate("tsa_ingest_stalled_jobs_recovered_total")} * 60', "stalled, recovered")], stack=True),
         Panel("Ingestion stage P95", "parsing (with OCR), embedding, publishing, per document.",
               [q(quantile(0.95, "tsa_ingest_stage_duration_seconds", "stage"), "{{stage}}")], unit="s")],
        [Panel("Dependencies", "1 = reachable, per replica. Access announcements: 1 while the replica listens "
               "for access changes (at 0 it reads the access generation on every request).",
               [q("tsa_dependency_up", "{{dependency}} @ {{instance}}"),
                q("tsa_access_announcements_up", "access announcements @ {{instance}}")], mappings=UP_DOWN),
         Panel("Cache errors and bypasses per second", "Bypassed: Redis unavailable (breaker open) or no-cache.",
               [q(rate("tsa_cache_events_total", 'event=~"error|bypassed"', "layer, event"), "{{layer}} {{event}}")])],
        [Panel("Embedded servers restarted", "Embedded engine, Redis or PostgreSQL found dead and started again "
               "by `tsa serve` (failed: tried again after a back-off), in the selected time range.",
               [q(f"sum by (service, outcome) (increase(tsa_embedded_restarts_total[{RANGE}]))",
                  "{{service}} {{outcome}}")], width=24)],
    ])


def business() -> dict[str, Any]:
    return dashboard("tsa-business", "TSA — business",
                     "What is asked, by whom, how often the documents hold the answer, and what was ingested.", [
        [Panel("Questions", "In the selected time range.", [q(f"sum(increase(tsa_rag_questions_total[{RANGE}]))")],
               "stat", width=5, height=4),
         Panel("Active users (1 h)", "Signed-in accounts with a request in the last hour.",
               [q(f"count(count by (user) (label_replace(increase({USERS}[1h]) > 0, "
                  '"user", "$1", "client", "user:([^/]+).*")))')], "stat", width=5, height=4),
         Panel("Context retrieval rate", "Answered questions that had at least one relevant source.",
               [q(answered_ratio("answered", "answered|no_context", RANGE))], "stat", "percentunit", 5, 4),
         Panel("No-answer rate", "Questions the documents could not answer (no relevant source) or that failed.",
               [q(answered_ratio("no_context|error", None, RANGE))], "stat", "percentunit", 5, 4),
         Panel("Documents ingested", "Documents made searchable in the selected time range.",
               [q(f'sum(increase(tsa_ingest_documents_total{{outcome="ready"}}[{RANGE}]))')], "stat", width=4,
               height=4)],
        [Panel("Question types", "procedure, troubleshooting, specification, general (see README).",
               [q(f"sum by (type) (increase(tsa_rag_questions_total[{RANGE}]))", "{{type}}")], "piechart"),
         Panel("Questions per minute by type", "",
               [q(f'{rate("tsa_rag_questions_total", by="type")} * 60', "{{type}}")], stack=True)],
        [Panel("Requests per second per user and key (top 10)", "user:<name> (browser session) or "
               "user:<name>/key:<id>; unsigned callers by X-Client-Id or anonymous.",
               [q(f'topk(10, {rate("tsa_client_requests_total", by="client")})', "{{client}}")], unit="reqps"),
         Panel("Active clients and signed-in users", "With a request in the interval.",
               [q(f'count({rate("tsa_client_requests_total", by="client")} > 0)', "clients"),
                q(f'count({rate("tsa_client_requests_total", SIGNED_IN, by="client")} > 0)', "users and keys")])],
        [Panel("Sign-ins and refusals per minute", "Successful and failed access decisions (see health).",
               [q(f'{rate("tsa_auth_events_total", by="event")} * 60', "{{event}}")], stack=True, width=24)],
        [Panel("Answer quality: grounded share", "Answers with sources whose every checked claim (numbers with "
               "units, part numbers, citations) is in a cited passage.",
               [q(ratio("tsa_rag_grounding_total", 'result="supported"'), "grounded")], unit="percentunit"),
         Panel("Answer quality: grounding results per minute", "supported; unsupported (claims marked); replaced "
               "(extractive policy: quoted passages instead).",
               [q(f'{rate("tsa_rag_grounding_total", by="result")} * 60', "{{result}}")], stack=True)],
        [Panel("Answer quality: feedback per hour by model", "Thumbs up and down from the people who got the "
               "answers (POST /api/feedback).",
               [q('sum by (model, rating) (increase(tsa_feedback_total[1h]))', "{{model}} {{rating}}")],
               stack=True),
         Panel("Query rewrites per minute", "Follow-ups made to stand alone: by the chat model, from the "
               "cache, or by the rule when the model's rewrite was unusable. Weak searches searched again in "
               "the chat model's words (QUERY_REWRITE=weak): rewritten, cached, unusable, failed.",
               [q(f'{rate("tsa_rag_rewrites_total", by="outcome")} * 60', "follow-up {{outcome}}"),
                q(f'{rate("tsa_rag_search_rewrites_total", by="outcome")} * 60', "search {{outcome}}")],
               stack=True)],
        [Panel("Web search fallback rate", "Questions for which the web was searched (the manuals had nothing "
               "close, or the asker wanted the web too) among all questions.",
               [q(f'{rate("tsa_web_fallbacks_total")} / {rate("tsa_rag_questions_total")}', "searched the web")],
               unit="percentunit", width=6),
         Panel("Web searches per minute by outcome", "used (answered from pages); no_results; error (provider "
               "down or slow: the manuals-only answer went out); blocked (only refused domains found).",
               [q(f'{rate("tsa_web_search_total", by="provider, outcome")} * 60', "{{provider}} {{outcome}}")],
               stack=True, width=6),
         Panel("Web pages per minute by outcome", "ok (fetched), cached, and why pages were not read: blocked "
               "(private address or refused domain), too_large, not_html, redirects, timeout, error.",
               [q(f'{rate("tsa_web_pages_total", by="outcome")} * 60', "{{outcome}}")], stack=True, width=6),
         Panel("Web page fetch P50 / P95", "One page, redirects included (cached pages not counted).",
               [q(quantile(0.5, "tsa_web_fetch_duration_seconds"), "p50"),
                q(quantile(0.95, "tsa_web_fetch_duration_seconds"), "p95")], unit="s", width=6)],
        [Panel("Answer outcomes per minute", "answered, no_context, error, cancelled.",
               [q(f'{rate("tsa_rag_answers_total", by="outcome")} * 60', "{{outcome}}")], stack=True),
         Panel("Context retrieval and no-answer rate", "",
               [q(answered_ratio("answered", "answered|no_context", RATE), "context retrieval"),
                q(answered_ratio("no_context|error", None, RATE), "no answer")], unit="percentunit")],
        [Panel("Documents ingested by outcome", "ready, duplicate, failed, reparsed.",
               [q(f"sum by (outcome) (increase(tsa_ingest_documents_total[{RATE}]))", "{{outcome}}")],
               width=6, stack=True),
         Panel("Chunks indexed", "", [q(f"sum(increase(tsa_ingest_chunks_total[{RATE}]))", "chunks")], width=6),
         Panel("Scanned pages read by OCR", "Pages without a text layer.",
               [q(f"sum(increase(tsa_ingest_ocr_pages_total[{RATE}]))", "pages")], width=6),
         Panel("Ingestion time P50 / P95", "Parse, embed and publish one document.",
               [q(quantile(0.5, "tsa_ingest_duration_seconds"), "p50"),
                q(quantile(0.95, "tsa_ingest_duration_seconds"), "p95")], unit="s", width=6)],
    ])


DASHBOARDS = {"performance": performance, "health": health, "business": business}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in DASHBOARDS.items():
        (OUT / f"{name}.json").write_text(render(build))
        print(f"wrote {OUT / f'{name}.json'}")


if __name__ == "__main__":
    main()

"""Proof that the monitoring works: promtool accepts the config and rules (and the rules' own unit
tests pass), and a real Prometheus scraping a running service returns data for every dashboard
query, evaluates every rule without error, and raises the instance-down alert for a killed instance."""

from __future__ import annotations

import asyncio
import math
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.integration.conftest import wait_until_processed
from tests.integration.web.sites import local_web
from tests.monitoring import PROMETHEUS, dashboard_queries, rule_queries, with_grafana_variables
from tsa.runtime.children import free_port, spawn, stop

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MANUAL = b"""# Pump HF-22

## Impeller nut

Tighten the impeller nut to 35 Nm.

## Alarms

Alarm A-05 means the dew point is too high. Replace the desiccant cartridge.
"""
QUESTIONS = ["What is the torque of the impeller nut?", "What does A-05 mean?",
             "How do I replace the desiccant cartridge?", "Tell me about the pump"]


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} not found: ./scripts/test installs Debian's prometheus package (scripts/install-prometheus)"
    return path


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("promtool"), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_config_and_rules_and_the_rule_tests_pass():
    for args in (("check", "config", "prometheus.yml"), ("check", "rules", "alerts.yml"),
                 ("test", "rules", "alerts_test.yml")):
        result = _promtool(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert "SUCCESS" in _promtool("test", "rules", "alerts_test.yml").stdout


def _scraping(target: str) -> dict:
    """The committed config, with the service under test as a static target and a 1 s cadence."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS / name) for name in config["rule_files"]]
    for job in config["scrape_configs"]:  # the API under test runs the ingestion worker too
        del job["dns_sd_configs"]
        job["static_configs"] = [{"targets": [target]}]
    return config


async def _start_prometheus(tmp_path: Path, target: str) -> tuple[str, subprocess.Popen[bytes]]:
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(_scraping(target)))
    port = free_port()
    process = spawn([_tool("prometheus"), f"--config.file={config_path}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                     f"--web.listen-address=127.0.0.1:{port}"], tmp_path / "prometheus.log")
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(timeout=5) as http:
        for _ in range(300):
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            try:
                if (await http.get(f"{url}/-/ready")).status_code == 200:
                    return url, process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("Prometheus never became ready")


async def _query(prometheus: httpx.AsyncClient, expr: str) -> dict:
    response = await prometheus.get("/api/v1/query", params={"query": expr})
    return response.json()


async def _drive_traffic(api: httpx.AsyncClient) -> None:
    """Something for every panel: each answer kind, ingestion outcome, client, status class and cache event,
    and a question that searches the (local) web."""
    for name, content in (("hf22.md", MANUAL), ("hf22-again.md", MANUAL), ("broken.pdf", b"%PDF-1.4 not really")):
        response = await api.post("/api/documents", files={"file": (name, content)}, headers={"X-Client-Id": "office"})
        await wait_until_processed(api, response.json()["document_id"])
    for n, question in enumerate(QUESTIONS):
        body = {"query": f"{question} {uuid.uuid4().hex[:4]}", "max_tokens": 8}
        headers = {"X-Client-Id": f"van-{n % 2}"}
        answered = await api.post("/api/rag-chat", json=body, headers=headers)
        assert answered.status_code == 200
        feedback = {"answer_id": answered.json()["answer_id"], "rating": ("up", "down")[n % 2]}
        assert (await api.post("/api/feedback", json=feedback)).status_code == 201
        assert (await api.post("/api/rag-chat", json=body, headers=headers)).json()["cached"]["inference"]
    same = {"query": f"What is the torque? {uuid.uuid4().hex[:4]}", "max_tokens": 8, "stream": True}
    await asyncio.gather(*(api.post("/api/rag-chat", json=same) for _ in range(5)))  # coalesced
    assert (await api.post("/api/search", json={"query": "impeller nut torque"},
                           headers={"Authorization": "Bearer tsa_0000000_wrong"})).status_code == 401
    viewer = (await api.post("/api/users", json={"username": f"tech-{uuid.uuid4().hex[:6]}"})).json()
    key = (await api.post("/api/keys", json={"name": "van", "user_id": viewer["id"]})).json()["token"]
    headers = {"Authorization": f"Bearer {key}"}
    assert (await api.post("/api/search", json={"query": "impeller nut torque"}, headers=headers)).status_code == 200
    assert (await api.get("/api/audit", headers=headers)).status_code == 403
    assert (await api.post("/api/rag-chat", json={"query": "x", "model": "nope:1b"})).status_code == 404
    assert (await api.post("/api/rag-chat", json={"query": ""})).status_code == 422
    # The drop-in APIs: Ollama's and OpenAI's, and the manuals as a model.
    chat = {"messages": [{"role": "user", "content": "What is the torque?"}], "stream": False}
    assert (await api.post("/api/chat", json={**chat, "model": "bench-chat", "options": {"num_predict": 4}})).is_success
    assert (await api.post("/api/chat", json={**chat, "model": "tsa", "options": {"num_predict": 4}})).is_success
    assert (await api.post("/v1/chat/completions", json={**chat, "model": "bench-chat", "max_tokens": 4})).is_success
    assert (await api.post("/v1/embeddings", json={"model": "bench-embed", "input": "seal"})).is_success
    web = {"query": f"XR-500 impeller clearance? {uuid.uuid4().hex[:4]}", "max_tokens": 8, "web_search": "always"}
    assert (await api.post("/api/rag-chat", json=web)).json()["web"]["outcome"] in ("used", "no_results")


async def _wait_for_scrapes(prometheus: httpx.AsyncClient, count: int) -> None:
    """Wait until ``count`` more scrapes have happened (``rate`` needs two samples of a series)."""
    expr = 'count_over_time(up{job="tsa"}[10m])'
    start = None
    for _ in range(300):
        result = (await _query(prometheus, expr))["data"]["result"]
        scraped = float(result[0]["value"][1]) if result else 0.0
        start = scraped if start is None else start
        if scraped >= start + count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("Prometheus is not scraping the service")


def web_search_through(settings, web):
    """Web search against the local search endpoint and site: the page that answers, one on a refused
    loopback address, and one that is not a web page."""
    site_port = web.site.rsplit(":", 1)[1]
    settings.web_search_provider, settings.web_search_url = "searxng", web.search_url
    settings.web_fetch_allow_private = (f"127.0.0.1:{site_port}",)
    web.search.results = [{"url": web.url(path), "title": path, "content": ""}
                          for path in ("/xr500-impeller-clearance", "/to-loopback", "/datasheet.pdf")]
    return settings


@pytest.fixture
async def prometheus_for(tmp_path) -> AsyncIterator:
    started: list[subprocess.Popen[bytes]] = []

    async def start(target: str) -> httpx.AsyncClient:
        url, process = await _start_prometheus(tmp_path, target)
        started.append(process)
        return httpx.AsyncClient(base_url=url, timeout=10)

    yield start
    for process in started:
        await asyncio.to_thread(stop, process)


async def test_every_dashboard_query_returns_data_and_every_rule_evaluates(
        settings, engines, api_for, prometheus_for, capsys):
    fleet = await engines(3, "--bench-embed-ms", "2", "--bench-token-ms", "5")
    settings.ollama_instances = [engine.url for engine in fleet]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    settings.min_similarity, settings.health_interval_s = -1.0, 0.5
    async with local_web() as web, api_for(web_search_through(settings, web)) as api:
        prometheus = await prometheus_for(str(api.base_url.netloc.decode()))
        async with prometheus:
            await _wait_for_scrapes(prometheus, 2)
            no_context = (await api.post("/api/rag-chat", json={"query": "Anything before documents?"})).json()
            assert no_context["sources"] == []
            # Twice: Prometheus cannot see how far a series rose before its first scrape, so the
            # series born in the first round show their rates in the second (as in steady traffic).
            for _ in range(2):
                await _drive_traffic(api)
                await _wait_for_scrapes(prometheus, 3)

            failures, checked, nonzero = [], 0, 0
            for dashboard, panel, expr in dashboard_queries():
                evaluated = with_grafana_variables(expr)
                answer = await _query(prometheus, evaluated)
                checked += 1
                values = [float(r["value"][1]) for r in answer.get("data", {}).get("result", [])]
                if answer.get("status") != "success":
                    failures.append((dashboard, panel, evaluated, answer.get("error")))
                elif not values:
                    failures.append((dashboard, panel, evaluated, "no data"))
                elif "histogram_quantile" in expr and all(math.isnan(v) for v in values):
                    failures.append((dashboard, panel, evaluated, "only NaN: no observations"))
                nonzero += any(v and not math.isnan(v) for v in values)
            assert not failures, "\n".join(map(str, failures))

            for alert, expr in rule_queries():
                answer = await _query(prometheus, expr)
                assert answer["status"] == "success", (alert, answer.get("error"))

            # The rules as Prometheus runs them: all evaluated without error.
            groups = (await prometheus.get("/api/v1/rules")).json()["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            assert len(rules) == len(rule_queries()) and all(rule["health"] == "ok" for rule in rules), rules

            # A killed instance raises its alert (pending: it must stay down for 2 min to fire).
            victim = fleet[0]
            await asyncio.to_thread(victim.kill)
            victim_name = victim.url.split("//")[1]
            down: list[dict] = []
            for _ in range(150):
                alerts = (await prometheus.get("/api/v1/alerts")).json()["data"]["alerts"]
                down = [a for a in alerts if a["labels"]["alertname"] == "TSALLMInstanceDown"]
                if down:
                    break
                await asyncio.sleep(0.2)
            assert [a["labels"]["llm_instance"] for a in down] == [victim_name]
            alert = down[0]
            assert alert["state"] in ("pending", "firing")
            assert not [a for a in alerts if a["labels"]["alertname"] in ("TSALLMFleetDown", "TSALLMFleetDegraded")]
    with capsys.disabled():
        print(f"\nmonitoring proof: {checked} dashboard queries returned data ({nonzero} a non-zero value), "
              f"{len(rules)} rules evaluated "
              f"without error, TSALLMInstanceDown {alert['state']} for {victim_name}")

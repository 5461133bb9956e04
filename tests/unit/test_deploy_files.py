"""The production compose stack, read statically (no Docker engine needed): the services, their
health checks and dependencies, the API pointed at all eight Ollama instances, and only settings
that exist and that the README documents."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tsa.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
README = (ROOT / "README.md").read_text()
OLLAMA = [f"ollama-{n}" for n in range(1, 9)]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_the_stack_has_every_service(compose):
    assert set(compose["services"]) == {"api", "worker", "gateway", "postgres", "redis", *OLLAMA, "prometheus",
                                        "grafana", "models"}
    assert compose["services"]["postgres"]["image"].startswith("pgvector/pgvector:")
    assert compose["services"]["redis"]["image"].startswith("redis:")
    assert compose["services"]["models"]["profiles"] == ["setup"]  # one-shot, not part of `up`


def test_every_long_running_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        if "setup" not in service.get("profiles", []):
            assert service["healthcheck"]["test"], name
            assert service.get("restart") == "unless-stopped", name


def test_each_ollama_instance_has_its_own_volume_and_health_check(compose):
    volumes = set()
    for name in OLLAMA:
        service = compose["services"][name]
        assert service["image"].startswith("ollama/ollama:") and service["healthcheck"]["test"] == [
            "CMD", "ollama", "list"]
        (volume,) = service["volumes"]
        source, target = volume.split(":")
        assert target == "/root/.ollama" and source in compose["volumes"]
        volumes.add(source)
    assert len(volumes) == 8


def test_the_api_points_at_all_eight_instances_and_its_dependencies(compose):
    api = compose["services"]["api"]
    env = api["environment"]
    urls = env["OLLAMA_INSTANCES"].split(",")
    assert [urlsplit(u).hostname for u in urls] == OLLAMA and {urlsplit(u).port for u in urls} == {11434}
    assert urlsplit(re.sub(r"\$\{[^}]*\}", "secret", env["DATABASE_URL"])).hostname == "postgres"
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    depends = api["depends_on"]
    assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"
    assert all(depends[name]["condition"] == "service_started" for name in OLLAMA)
    assert "/ready" in " ".join(api["healthcheck"]["test"])
    for name, service in compose["services"].items():
        for target in service.get("depends_on", {}):
            assert target in compose["services"], (name, target)


def test_workers_share_the_api_s_services_and_the_api_leaves_ingestion_to_them(compose):
    api, worker = compose["services"]["api"], compose["services"]["worker"]
    shared = ("DATABASE_URL", "REDIS_URL", "OLLAMA_INSTANCES", "CHAT_MODEL", "EMBEDDING_MODEL")
    assert {k: api["environment"][k] for k in shared} == {k: worker["environment"][k] for k in shared}
    assert api["environment"]["WORKER_IN_PROCESS"] == "false"
    assert worker["command"][0] == "worker" and "${WORKER_REPLICAS" in str(worker["deploy"]["replicas"])
    port = worker["command"][worker["command"].index("--metrics-port") + 1]
    assert f":{port}/metrics" in " ".join(worker["healthcheck"]["test"])
    jobs = {c["job_name"]: c for c in yaml.safe_load(
        (ROOT / "monitoring/prometheus/prometheus.yml").read_text())["scrape_configs"]}
    assert jobs["tsa-worker"]["dns_sd_configs"][0]["names"] == ["worker"]
    assert jobs["tsa-worker"]["dns_sd_configs"][0]["port"] == int(port)
    assert "tesseract-ocr" in (DEPLOY / "Dockerfile").read_text()


def test_ports_agree_between_api_gateway_and_prometheus(compose):
    port = int(compose["services"]["api"]["environment"]["TSA_PORT"])
    scrape = yaml.safe_load((ROOT / "monitoring/prometheus/prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["dns_sd_configs"][0] == {"names": ["api"], "type": "A", "port": port, "refresh_interval": "15s"}
    assert f"http://api:{port}" in (DEPLOY / "nginx.conf").read_text()
    assert f"EXPOSE {port}" in (DEPLOY / "Dockerfile").read_text()


def test_monitoring_is_mounted_from_the_repository(compose):
    for service in ("prometheus", "grafana"):
        for volume in compose["services"][service]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith(".."):
                assert (DEPLOY / source).is_dir(), volume
    provider = yaml.safe_load((ROOT / "monitoring/grafana/provisioning/dashboards/tsa.yml").read_text())
    mounts = {v.split(":")[1] for v in compose["services"]["grafana"]["volumes"]}
    assert provider["providers"][0]["options"]["path"] in mounts


def test_only_real_and_documented_settings(compose):
    fields = {name.upper() for name in Settings.model_fields}
    for key in {**compose["services"]["api"]["environment"], **compose["services"]["worker"]["environment"]}:
        assert key in fields, f"{key} is not a tsa setting"
        assert f"`{key}`" in README, f"{key} is not documented in the README"
    text = (DEPLOY / "docker-compose.yml").read_text()
    example = (DEPLOY / ".env.example").read_text()
    for variable in set(re.findall(r"\$\{(\w+)", text)):
        assert f"`{variable}`" in README, f"${{{variable}}} is not documented in the README"
        assert f"{variable}=" in example, f"{variable} is missing from deploy/.env.example"


def test_the_image_runs_the_api_unprivileged_with_a_health_check():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-9]", dockerfile, re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M) and "HEALTHCHECK" in dockerfile
    assert 'CMD ["serve"]' in dockerfile

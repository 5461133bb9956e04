"""The dashboards and rules, read statically: generated from their source, pointing at the provisioned
data source, and naming only metrics the service really exports."""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client import REGISTRY

import tsa.metrics  # noqa: F401  (registers every metric)
from tests.monitoring import DASHBOARDS, MONITORING, dashboard_builder, dashboard_queries, rule_queries

_METRIC = re.compile(r"\b(tsa_[a-z_]+|up)\b")


_SERIES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def _exported_names() -> set[str]:
    """The series names of every tsa metric, whether or not a label set exists yet."""
    names = {"up"}  # Prometheus' own per-target series
    for collector in list(REGISTRY._collector_to_names):  # noqa: SLF001
        describe = getattr(collector, "describe", None)
        for family in describe() if describe else []:
            names.update(family.name + suffix for suffix in _SERIES.get(family.type, ("",)))
    return names


def _metric_names(expr: str) -> set[str]:
    return {name for name in _METRIC.findall(expr)}


def test_the_committed_dashboards_are_what_the_builder_writes():
    builder = dashboard_builder()
    for name, build in builder.DASHBOARDS.items():
        assert (DASHBOARDS / f"{name}.json").read_text() == builder.render(build), (
            f"{name}.json is stale: run python monitoring/build_dashboards.py")


def test_every_query_names_an_exported_metric():
    exported = _exported_names()
    queries = [expr for _, _, expr in dashboard_queries()] + [expr for _, expr in rule_queries()]
    assert len(queries) > 50
    unknown = {name for expr in queries for name in _metric_names(expr)} - exported
    assert not unknown, f"queries reference metrics no code exports: {sorted(unknown)}"
    # Every histogram quantile is computed over bucket rates summed by le.
    for expr in queries:
        for match in re.finditer(r"histogram_quantile\(([^,]+), (\w+) by \(([^)]*)\) \(rate\((\w+)", expr):
            assert match.group(2) == "sum" and "le" in match.group(3) and match.group(4).endswith("_bucket"), expr


def test_panels_use_the_provisioned_data_source_and_fit_the_grid():
    provisioned = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = provisioned["datasources"][0]["uid"]
    for path in DASHBOARDS.glob("*.json"):
        dashboard = json.loads(path.read_text())
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == uid and panel["targets"], (path.name, panel["title"])
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, (path.name, panel["title"])
    assert {p.stem for p in DASHBOARDS.glob("*.json")} == {"performance", "health", "business"}

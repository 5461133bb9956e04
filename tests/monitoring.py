"""The monitoring files as the tests read them: every PromQL expression in the dashboards and the rules."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import yaml

MONITORING = Path(__file__).resolve().parent.parent / "monitoring"
DASHBOARDS = MONITORING / "grafana" / "dashboards"
PROMETHEUS = MONITORING / "prometheus"

# Grafana's variables, as Grafana would fill them in over the last few minutes of a fast scrape.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "10m", "$__interval": "15s"}


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) for every target of every panel."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found.append((path.name, panel["title"], target["expr"]))
    return found


def rule_queries() -> list[tuple[str, str]]:
    """(alert name, expr) for every rule."""
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [(rule.get("alert") or rule["record"], rule["expr"]) for group in groups for rule in group["rules"]]


def with_grafana_variables(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def dashboard_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dashboards", MONITORING / "build_dashboards.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module

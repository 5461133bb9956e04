"""The fleet file: instances with weight, concurrency cap and labels, in YAML.

    instances:
      - url: http://gpu1:11434
        weight: 2
        max_concurrency: 4
        labels: [chat]
      - url: http://cpu1:11434
        labels: [embed]
      - url: http://vllm:8000
        api: openai
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tsa.fleet.instance import InstanceConfig

_KEYS = {"url", "name", "weight", "max_concurrency", "labels", "api"}


def parse_fleet(text: str, default_max_concurrency: int = 4) -> list[InstanceConfig]:
    document = yaml.safe_load(text) or {}
    entries = document.get("instances") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError("a fleet file needs a non-empty 'instances' list")
    configs = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, dict) or "url" not in entry:
            raise ValueError(f"fleet entry {number} needs a url")
        unknown = set(entry) - _KEYS
        if unknown:
            raise ValueError(f"fleet entry {number}: unknown keys {sorted(unknown)}")
        configs.append(InstanceConfig(
            url=str(entry["url"]).rstrip("/"), name=str(entry.get("name", "")),
            weight=float(entry.get("weight", 1.0)),
            max_concurrency=int(entry.get("max_concurrency", default_max_concurrency)),
            labels=frozenset(entry.get("labels") or ()), api=str(entry.get("api", "ollama"))))
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ValueError("fleet instance names must be unique")
    return configs


def load_fleet_file(path: Path, default_max_concurrency: int = 4) -> list[InstanceConfig]:
    return parse_fleet(path.read_text(), default_max_concurrency)

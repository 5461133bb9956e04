"""One LLM instance of the fleet: its configuration and what the fleet has learnt about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from tsa.fleet.stats import Ewma, LatencyWindow

KINDS = ("embed", "chat")


class State(StrEnum):
    UNKNOWN = "unknown"  # not probed yet: routable, so a fleet can serve while its first probe runs
    HEALTHY = "healthy"
    EJECTED = "ejected"  # failed requests: out until its back-off ends and a probe succeeds
    DOWN = "down"  # failed the last active probe
    DRAINING = "draining"  # finishes what it has, gets nothing new


ROUTABLE = (State.UNKNOWN, State.HEALTHY)


def default_name(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


@dataclass(frozen=True)
class InstanceConfig:
    url: str
    name: str = ""
    weight: float = 1.0
    max_concurrency: int = 4
    labels: frozenset[str] = frozenset()  # "embed" and/or "chat"; empty serves both
    api: str = "ollama"  # or "openai" for an OpenAI-compatible server (vLLM, llama.cpp server)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"instance URL {self.url!r} must start with http:// or https://")
        if self.weight <= 0 or self.max_concurrency < 1:
            raise ValueError(f"instance {self.url}: weight must be > 0 and max_concurrency ≥ 1")
        if not self.labels <= set(KINDS):
            raise ValueError(f"instance {self.url}: labels must be among {KINDS}")
        if self.api not in ("ollama", "openai"):
            raise ValueError(f"instance {self.url}: api must be 'ollama' or 'openai'")
        if not self.name:
            object.__setattr__(self, "name", default_name(self.url))


@dataclass
class Instance:
    config: InstanceConfig
    client: Any = field(repr=False, default=None)
    state: State = State.UNKNOWN
    in_flight: int = 0
    total_requests: int = 0
    successful_requests: int = 0
    failed_requests: int = 0
    models_available: set[str] | None = None  # None until the first /api/tags
    model_entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # what its /api/tags says of each
    models_loaded: set[str] = field(default_factory=set)
    # Models an instance answered 404 for since its last /api/tags: routing skips them there.
    models_missing: set[str] = field(default_factory=set)
    latency: dict[tuple[str, str], Ewma] = field(default_factory=dict)  # (model, kind) → seconds
    load_time: dict[str, Ewma] = field(default_factory=dict)  # model → seconds a cold load took here
    window: LatencyWindow = field(default_factory=LatencyWindow)
    error_rate: Ewma = field(default_factory=lambda: Ewma(alpha=0.1, value=0.0))
    consecutive_failures: int = 0
    ejections: int = 0
    ejected_until: float = 0.0
    last_error: str | None = None

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def free_slots(self) -> int:
        return self.config.max_concurrency - self.in_flight

    def serves(self, kind: str) -> bool:
        return not self.config.labels or kind in self.config.labels

    def may_have(self, model: str) -> bool:
        if model in self.models_missing:
            return False
        return self.models_available is None or model in self.models_available

    def expected_load(self, model: str) -> float | None:
        ewma = self.load_time.get(model)
        return None if ewma is None else ewma.value

    def expected_latency(self, model: str, kind: str) -> float | None:
        ewma = self.latency.get((model, kind))
        return None if ewma is None else ewma.value

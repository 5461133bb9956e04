"""Running statistics kept per instance: EWMA and a window of recent latencies. Pure."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Ewma:
    """Exponentially weighted moving average; ``value`` is None until the first sample."""

    alpha: float = 0.2
    value: float | None = None
    updated_at: float = 0.0  # clock time of the last sample

    def add(self, sample: float, now: float = 0.0) -> float:
        self.value = sample if self.value is None else self.alpha * sample + (1 - self.alpha) * self.value
        self.updated_at = now
        return self.value


@dataclass
class LatencyWindow:
    """The last ``size`` latencies, for p50/p95 that follow recent behaviour."""

    size: int = 512
    samples: deque[float] = field(default_factory=deque)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)
        if len(self.samples) > self.size:
            self.samples.popleft()

    def percentile(self, q: float) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)  # nearest rank: the smallest value with q% at or below it
        return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]

    def mean(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None

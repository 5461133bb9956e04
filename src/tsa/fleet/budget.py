"""Retry and hedge budgets: extra attempts may add at most a fixed share of load. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Budget:
    """A token bucket: each request deposits ``ratio`` tokens (up to ``cap``); each extra attempt spends one.

    With ratio 0.2, retries add at most ~20% load in a storm, yet a calm fleet
    always has ``cap`` retries in hand.
    """

    ratio: float
    cap: float = 10.0
    tokens: float = 10.0

    def deposit(self) -> None:
        self.tokens = min(self.cap, self.tokens + self.ratio)

    def try_spend(self) -> bool:
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

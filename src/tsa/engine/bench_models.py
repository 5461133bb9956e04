"""Benchmark models: fixed latency and deterministic output, for measuring routing, not inference.

Served only when ``tsa engine --bench`` asks for them; never a default.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from tsa.engine.backends import Generation


class BenchEmbedder:
    """Holds its worker thread for ``latency_s`` per call, like a model busy on the CPU."""

    def __init__(self, latency_s: float, dims: int = 384) -> None:
        self.latency_s = latency_s
        self.dims = dims

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(self, texts: list[str], truncate: bool) -> list[list[float]]:
        time.sleep(self.latency_s)  # runs in a worker thread, never on the event loop
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(self.dims)
        return (vector / np.linalg.norm(vector)).tolist()


def _scripted_reply(messages: list[dict[str, str]]) -> list[str] | None:
    """The words after ``Say:`` in the last message, if it has them: an answer known in advance,
    for testing what the service does with it (grounding)."""
    last = messages[-1].get("content", "") if messages else ""
    _, found, said = last.partition("Say:")
    if not found:
        return None
    said = said.split("\nAnswer:", 1)[0]
    return [word + " " for word in said.split()]


def _prefilled(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], int]:
    """A final assistant message is an answer begun elsewhere: the question before it, and how many
    words of the reply it already holds (the reply goes on from there, as Ollama continues one)."""
    if len(messages) > 1 and messages[-1].get("role") == "assistant":
        return messages[:-1], len(messages[-1].get("content", "").split())
    return messages, 0


class BenchChat:
    """Emits ``num_predict`` (default 16) deterministic tokens, ``token_latency_s`` apart: ``token0 token1 …``,
    or the words after ``Say:`` in the last message. A final assistant message is continued."""

    def __init__(self, token_latency_s: float) -> None:
        self.token_latency_s = token_latency_s

    def chat(self, messages: list[dict[str, str]], options: dict[str, Any],
             cancelled: threading.Event, stats: Generation) -> Iterator[str]:
        count = int(options.get("num_predict", 16))
        count = 16 if count < 0 else count
        stats.prompt_eval_count = sum(len(m.get("content", "").split()) for m in messages)
        started = time.perf_counter_ns()
        messages, done = _prefilled(messages)
        scripted = _scripted_reply(messages)
        words = (scripted if scripted is not None else [f"token{n} " for n in range(done + count)])[done:done + count]
        for word in words:
            if cancelled.wait(self.token_latency_s):
                stats.done_reason = "cancelled"
                return
            stats.eval_count += 1
            yield word
        stats.eval_duration = time.perf_counter_ns() - started
        stats.done_reason = "stop" if scripted is not None and len(scripted) <= done + count else "length"

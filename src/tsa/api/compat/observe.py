"""Metrics of the drop-in APIs: each call counted by API, endpoint, model and outcome, timed to its
final chunk, and its tokens counted in and out (from the final chunk's counts)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from tsa import metrics
from tsa.errors import TSAError, UnknownModel
from tsa.fleet.stream import Batch


class Observed:
    """One call. A model the fleet does not know is labelled ``unknown`` (callers choose the name)."""

    def __init__(self, api: str, endpoint: str, model: str) -> None:
        self.api, self.endpoint, self.model = api, endpoint, model
        self.started = time.perf_counter()
        self.ended = False

    def end(self, outcome: str, tokens_in: int = 0, tokens_out: int = 0, error: BaseException | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        model = "unknown" if isinstance(error, UnknownModel) else self.model
        metrics.GATEWAY_REQUESTS.labels(self.api, self.endpoint, model, outcome).inc()
        metrics.GATEWAY_DURATION.labels(self.api, self.endpoint).observe(time.perf_counter() - self.started)
        if tokens_in:
            metrics.GATEWAY_TOKENS.labels(self.api, model, "in").inc(tokens_in)
        if tokens_out:
            metrics.GATEWAY_TOKENS.labels(self.api, model, "out").inc(tokens_out)

    async def batches(self, batches: AsyncIterator[Batch]) -> AsyncIterator[Batch]:
        """The stream as it is, ended by its final chunk, an error, or the client leaving."""
        try:
            async with contextlib.aclosing(batches):  # type: ignore[type-var]
                async for batch in batches:
                    if (last := batch[-1]).get("done"):  # ended: consumers may let go of us at once
                        self.end("ok", int(last.get("prompt_eval_count") or 0), int(last.get("eval_count") or 0))
                    yield batch
        except (GeneratorExit, asyncio.CancelledError):
            self.end("cancelled")
            raise
        except TSAError as exc:
            self.end("error", error=exc)
            raise
        finally:
            self.end("cancelled")  # closed before its final chunk

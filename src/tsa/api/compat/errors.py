"""A drop-in API call's failure in that API's own error shape, counted in its metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse, Response

from tsa.access import Principal
from tsa.api.compat.observe import Observed
from tsa.api.errors import visible_message
from tsa.errors import TSAError


async def in_own_shape(handler: Callable[[], Awaitable[Response]], principal: Principal, observed: Observed,
                       shape: Callable[[str, int], dict[str, Any]]) -> Response:
    """The handler's response; a service error as ``shape(message, status)``, keeping the status and
    Retry-After (Ollama's clients expect ``{"error": "..."}``, OpenAI's ``{"error": {...}}``)."""
    try:
        return await handler()
    except TSAError as exc:
        observed.end("error", error=exc)
        retry_after = getattr(exc, "retry_after_s", None)
        return JSONResponse(shape(visible_message(exc, principal), exc.status), status_code=exc.status,
                            headers={"Retry-After": str(retry_after)} if retry_after is not None else None)

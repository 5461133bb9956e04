"""Server-sent events framing."""

from __future__ import annotations

import json
from typing import Any


def sse_event(event: str, data: Any) -> bytes:
    """One SSE event; JSON data fits on one line, so a single ``data:`` field suffices."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()

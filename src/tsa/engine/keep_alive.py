"""Ollama's ``keep_alive`` values: how long a model stays loaded after a request."""

from __future__ import annotations

import re

DEFAULT_KEEP_ALIVE_S = 300.0
FOREVER = float("inf")

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_keep_alive(value: object) -> float:
    """Seconds to keep a model loaded: a number of seconds or a duration string.

    >>> parse_keep_alive("5m"), parse_keep_alive(0), parse_keep_alive(-1)
    (300.0, 0.0, inf)
    """
    if value is None or value == "":
        return DEFAULT_KEEP_ALIVE_S
    if isinstance(value, bool):
        raise ValueError(f"invalid keep_alive {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"invalid keep_alive {value!r}: use seconds or a duration like '5m'")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    return FOREVER if seconds < 0 else seconds

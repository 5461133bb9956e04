"""How cached values are stored: vectors as float32 bytes, everything else as JSON."""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def pack_vector(vector: list[float]) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def unpack_vector(data: bytes) -> list[float]:
    return np.frombuffer(data, dtype=np.float32).astype(float).tolist()


def pack_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def unpack_json(data: bytes) -> Any:
    return json.loads(data)

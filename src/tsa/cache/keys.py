"""Cache keys: the one recipe for every layer.

    key = "tsa:v1:<layer>:" + sha256(canonical JSON of everything that changes the result)

Canonical JSON: keys sorted, no whitespace, UTF-8 kept. Bump ``KEY_VERSION`` when
a value's format or meaning changes; old entries then simply expire.

- embedding: {model, dims, text}
- chunks: {query, k, embedding_model, min_similarity, generation, scope}
- inference: {chat_model, query, k, embedding_model, min_similarity, options, prompt_version, generation, scope}

``scope`` is the digest of the collections the caller may read (``scope_digest``): a ranking or an
answer drawn from some documents is only ever served to callers who may read exactly those
collections. Question embeddings depend on the text only and are shared by everyone.

The inference key names the inputs that determine the messages sent (the
question, the retrieval that picks the passages, the prompt template version
and the corpus generation) instead of the rendered messages themselves: the
same thing, but computable before any embedding or retrieval, so a hit skips
both. Each answer is also kept under the same parts with ``generation: null`` and the evidence it
rests on, so an answer from before a corpus change is served again when the question still
retrieves exactly that evidence (``RagService._revalidated``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

KEY_VERSION = 1
PREFIX = f"tsa:v{KEY_VERSION}"
LAYERS = ("embedding", "chunks", "inference", "web")


def canonical_json(parts: dict[str, Any]) -> str:
    return json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(layer: str, parts: dict[str, Any]) -> str:
    """>>> cache_key("embedding", {"model": "all-minilm", "dims": 384, "text": "seal"})[:24]
    'tsa:v1:embedding:b56a68'
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown cache layer {layer!r}")
    digest = hashlib.sha256(canonical_json(parts).encode()).hexdigest()
    return f"{PREFIX}:{layer}:{digest}"


def scope_digest(collection_ids: Iterable[int]) -> str:
    """The same set of collections, the same digest, whatever the order.

    >>> scope_digest([3, 1]) == scope_digest({1, 3}) != scope_digest([1])
    True
    """
    canonical = ",".join(str(c) for c in sorted(set(collection_ids)))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def tag_key(tag: str) -> str:
    """A set of the keys written under one tag (the LLM instance that generated an answer)."""
    return f"{PREFIX}:tag:{tag}"


def lock_key(key: str) -> str:
    return f"{PREFIX}:lock:{key.removeprefix(PREFIX + ':')}"


def stats_key(layer: str) -> str:
    return f"{PREFIX}:stats:{layer}"

"""Ollama's model naming, shared by the engine and the fleet."""

from __future__ import annotations


def canonical_name(name: str) -> str:
    """A name without a tag means ``:latest`` (``all-minilm`` → ``all-minilm:latest``)."""
    return name if ":" in name else f"{name}:latest"

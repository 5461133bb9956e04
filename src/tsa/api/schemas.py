"""Request bodies of the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RagChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=4000)
    stream: bool = False
    max_context_chunks: int = Field(default=5, ge=1, le=20)
    model: str | None = Field(default=None, min_length=1, max_length=200)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1, le=4096)
    conversation_id: str | None = Field(default=None, max_length=200)
    cache: Literal["default", "no-cache"] = "default"


class InstanceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://", max_length=500)
    name: str = Field(default="", max_length=200)
    weight: float = Field(default=1.0, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1)
    labels: list[Literal["embed", "chat"]] = Field(default_factory=list)
    api: Literal["ollama", "openai"] = "ollama"


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=4000)
    k: int = Field(default=5, ge=1, le=50)
    cache: Literal["default", "no-cache"] = "default"

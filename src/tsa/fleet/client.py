"""Async client for one server speaking the Ollama HTTP API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tsa.errors import BackendError, BackendUnavailable, UnknownModel


@dataclass(frozen=True)
class ClientTimeouts:
    connect_s: float = 5.0
    embed_s: float = 120.0
    # Read timeout between stream lines; a cold model load happens before the first one.
    generate_s: float = 300.0
    probe_s: float = 3.0


@dataclass(frozen=True)
class Embeddings:
    vectors: list[list[float]]
    load_s: float  # time the server spent loading the model for this call (0 when it was warm)


class HttpBackend:
    """What every backend client shares: one pooled HTTP client with timeouts."""

    def __init__(self, base_url: str, timeouts: ClientTimeouts | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts or ClientTimeouts()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(self.timeouts.embed_s, connect=self.timeouts.connect_s),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get_json(self, path: str) -> dict[str, Any]:
        try:
            response = await self._http.get(path, timeout=self.timeouts.probe_s)
        except httpx.TransportError as exc:
            raise unavailable(self.base_url, exc) from exc
        raise_for_status(response, None)
        return response.json()

    async def _post_json(self, path: str, payload: dict[str, Any], model: str) -> dict[str, Any]:
        try:
            response = await self._http.post(path, json=payload)
        except httpx.TransportError as exc:
            raise unavailable(self.base_url, exc) from exc
        raise_for_status(response, model)
        return response.json()

    @asynccontextmanager
    async def _stream_lines(self, path: str, payload: dict[str, Any], model: str) -> AsyncIterator[AsyncIterator[str]]:
        """POST and hand over the response lines; an error status raises before any line."""
        timeout = httpx.Timeout(self.timeouts.generate_s, connect=self.timeouts.connect_s)
        async with self._http.stream("POST", path, json=payload, timeout=timeout) as response:
            if response.status_code >= 400:
                await response.aread()
                raise_for_status(response, model)
            yield response.aiter_lines()


class OllamaClient(HttpBackend):
    """Talks to one Ollama (or ``tsa engine``) instance; maps failures to ``tsa.errors``."""

    async def version(self) -> str:
        body = await self._get_json("/api/version")
        return str(body.get("version", ""))

    async def tags(self) -> list[str]:
        body = await self._get_json("/api/tags")
        return [m["name"] for m in body.get("models", [])]

    async def ps(self) -> list[dict[str, Any]]:
        body = await self._get_json("/api/ps")
        return list(body.get("models", []))

    async def embed(self, model: str, inputs: list[str]) -> Embeddings:
        body = await self._post_json("/api/embed", {"model": model, "input": inputs, "truncate": True}, model)
        embeddings = body.get("embeddings")
        if not isinstance(embeddings, list) or len(embeddings) != len(inputs):
            raise BackendError(f"{self.base_url} returned a malformed /api/embed body")
        return Embeddings(embeddings, body.get("load_duration", 0) / 1e9)

    async def pull(self, model: str) -> AsyncIterator[dict[str, Any]]:
        """``/api/pull``'s progress lines; the last says ``success`` (or raises)."""
        try:
            async with self._stream_lines("/api/pull", {"model": model, "stream": True}, model) as lines:
                async for line in lines:
                    if not line.strip():
                        continue
                    step = json.loads(line)
                    if "error" in step:
                        raise BackendError(f"{self.base_url}: {step['error']}")
                    yield step
        except httpx.TransportError as exc:
            raise unavailable(self.base_url, exc) from exc

    async def delete(self, model: str) -> None:
        try:
            response = await self._http.request("DELETE", "/api/delete", json={"model": model})
        except httpx.TransportError as exc:
            raise unavailable(self.base_url, exc) from exc
        raise_for_status(response, model)

    async def show(self, model: str) -> dict[str, Any]:
        return await self._post_json("/api/show", {"model": model}, model)

    def chat_stream(self, model: str, messages: list[dict[str, Any]], options: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        """The NDJSON objects of a streamed ``/api/chat``; the last has ``done: true``.

        ``extra`` carries other request fields through (``keep_alive``, ``format``, ``tools``).
        Closing the iterator early closes the HTTP stream, which cancels the upstream call.
        """
        payload = {**(extra or {}), "model": model, "messages": messages, "stream": True, "options": options or {}}
        return self._ndjson("/api/chat", payload, model)  # the generator itself, so closing it closes the stream

    def generate_stream(self, model: str, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """``/api/generate`` as the client asked for it (prompt, system, raw, format, images, …), streamed."""
        return self._ndjson("/api/generate", {**request, "model": model, "stream": True}, model)

    async def _ndjson(self, path: str, payload: dict[str, Any], model: str) -> AsyncIterator[dict[str, Any]]:
        try:
            async with self._stream_lines(path, payload, model) as lines:
                async for line in lines:
                    if not line.strip():
                        continue
                    message = json.loads(line)
                    if "error" in message:  # in-band: the status line already said 200
                        raise BackendError(f"{self.base_url}: {message['error']}")
                    yield message
                    if message.get("done"):
                        return
        except httpx.TransportError as exc:
            raise unavailable(self.base_url, exc) from exc
        raise BackendError(f"{self.base_url} ended the stream without a final message")


def unavailable(base_url: str, exc: Exception) -> BackendUnavailable:
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return BackendUnavailable(f"LLM instance {base_url} timed out: {type(exc).__name__}", "timeout")
    return BackendUnavailable(f"LLM instance {base_url} unreachable: {type(exc).__name__}", "connect")


def raise_for_status(response: httpx.Response, model: str | None) -> None:
    if response.status_code < 400:
        return
    try:
        detail = response.json().get("error", response.text)
    except ValueError:
        detail = response.text
    if isinstance(detail, dict):  # the OpenAI shape: {"error": {"message": ...}}
        detail = detail.get("message", str(detail))
    if response.status_code == 404 and model is not None:
        raise UnknownModel(f"model {model!r} is not available: {detail}")
    if response.status_code == 503:
        raise BackendUnavailable(f"{response.url.host} is busy: {detail}", "busy")
    raise BackendError(f"LLM instance answered {response.status_code}: {detail}", response.status_code)

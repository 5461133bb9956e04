"""Async client for one server speaking the Ollama HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httptools

from tsa.errors import BackendError, BackendUnavailable, TSAError, UnknownModel
from tsa.fleet.http1 import ConnectFailed, Http1Pool, Response
from tsa.json_codec import dumps, loads


# After the final message a server owes only the end of the body; one that sends more is cut off.
DRAIN_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 64  # per instance; the fleet's own per-instance limit is far lower
MAX_LINE_BYTES = 16 * 1024 * 1024  # a stream line (one chunk) longer than this is a broken server
# What a failing network or instance raises; aiohttp's timeouts are TimeoutErrors too.
TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError, OSError, httptools.HttpParserError)


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
    """What every backend client shares: pooled connections with timeouts, transport failures mapped
    to ``BackendUnavailable`` and error statuses to ``tsa.errors``.

    Streamed calls (chat, generate, pull) go over ``tsa.fleet.http1``: every proxied chat crosses
    that path, and it costs a fraction of aiohttp's Python per call. Plain calls (embeddings, tags,
    show, probes) use aiohttp, which costs about a third of httpx's CPU per call."""

    def __init__(self, base_url: str, timeouts: ClientTimeouts | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts or ClientTimeouts()
        self._session: aiohttp.ClientSession | None = None
        self._probe_timeout = aiohttp.ClientTimeout(total=self.timeouts.probe_s)
        self._call_timeout = aiohttp.ClientTimeout(sock_connect=self.timeouts.connect_s,
                                                   sock_read=self.timeouts.embed_s)
        self._streams = Http1Pool(self.base_url, self.timeouts.connect_s)

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the event loop that runs it.
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                                                  json_serialize=lambda value: dumps(value).decode())
        return self._session

    async def aclose(self) -> None:
        self._streams.close()
        if self._session is not None:
            await self._session.close()

    async def _get_json(self, path: str) -> dict[str, Any]:
        return await self._request_json("GET", path, None, None, self._probe_timeout)

    async def _post_json(self, path: str, payload: dict[str, Any], model: str) -> dict[str, Any]:
        return await self._request_json("POST", path, payload, model, self._call_timeout)

    async def _request_json(self, method: str, path: str, payload: dict[str, Any] | None, model: str | None,
                            timeout: aiohttp.ClientTimeout) -> dict[str, Any]:
        try:
            async with self._http().request(method, self.base_url + path, json=payload, timeout=timeout) as response:
                body = await response.read()
        except TRANSPORT_ERRORS as exc:
            raise unavailable(self.base_url, exc) from exc
        if error := status_error(response.status, body, self.base_url, model):
            raise error
        try:
            return json.loads(body) if body else {}
        except ValueError:
            raise BackendError(f"{self.base_url}{path} answered with a body that is not JSON") from None

    @asynccontextmanager
    async def _stream_lines(self, path: str, payload: dict[str, Any], model: str
                            ) -> AsyncIterator[AsyncIterator[list[bytes]]]:
        """POST and hand over the response's lines, a list per network read; an error status raises
        before any line. Leaving before the end closes the connection, which is how the instance
        learns to stop."""
        try:
            # The read timeout is between stream lines; a cold model load happens before the first one.
            async with self._streams.post(path, dumps(payload), self.timeouts.generate_s) as response:
                if error := status_error(response.status, await response.read() if response.status >= 400 else b"",
                                         self.base_url, model):
                    raise error
                yield self._line_batches(response)
        except TRANSPORT_ERRORS as exc:
            raise unavailable(self.base_url, exc) from exc

    async def _line_batches(self, response: Response) -> AsyncIterator[list[bytes]]:
        """The complete lines each read brings, together: what arrived at once is handed on at once,
        rather than one async step per line through every layer above (a fast instance sends many
        lines per read; a slow one, one token per read, is passed on as soon as it comes)."""
        pending = b""
        try:
            while data := await response.read_any():
                pending += data
                if b"\n" in data:
                    *lines, pending = pending.split(b"\n")
                    yield lines
                if len(pending) > MAX_LINE_BYTES:
                    raise BackendError(f"{self.base_url} sent a line over {MAX_LINE_BYTES} bytes")
        except TRANSPORT_ERRORS as exc:
            raise unavailable(self.base_url, exc) from exc
        if pending:
            yield [pending]


class OllamaClient(HttpBackend):
    """Talks to one Ollama (or ``tsa engine``) instance; maps failures to ``tsa.errors``."""

    async def version(self) -> str:
        body = await self._get_json("/api/version")
        return str(body.get("version", ""))

    async def tags(self) -> list[dict[str, Any]]:
        """``/api/tags``'s entries as the instance gives them (name, size, digest, details, …)."""
        body = await self._get_json("/api/tags")
        return [m for m in body.get("models", []) if isinstance(m, dict) and isinstance(m.get("name"), str)]

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
        async with self._stream_lines("/api/pull", {"model": model, "stream": True}, model) as reads:
            async for lines in reads:
                for line in lines:
                    if not line.strip():
                        continue
                    step = loads(line)
                    if "error" in step:
                        raise BackendError(f"{self.base_url}: {step['error']}")
                    yield step

    async def delete(self, model: str) -> None:
        await self._request_json("DELETE", "/api/delete", {"model": model}, model, self._call_timeout)

    async def show(self, model: str) -> dict[str, Any]:
        return await self._post_json("/api/show", {"model": model}, model)

    def chat_batches(self, model: str, messages: list[dict[str, Any]], options: dict[str, Any] | None = None,
                     extra: dict[str, Any] | None = None) -> AsyncIterator[list[dict[str, Any]]]:
        """The NDJSON objects of a streamed ``/api/chat``, a list per network read (never empty); the
        last object has ``done: true``.

        ``extra`` carries other request fields through (``keep_alive``, ``format``, ``tools``).
        Closing the iterator early closes the HTTP stream, which cancels the upstream call.
        """
        payload = {**(extra or {}), "model": model, "messages": messages, "stream": True, "options": options or {}}
        return self._ndjson("/api/chat", payload, model)  # the generator itself, so closing it closes the stream

    def generate_batches(self, model: str, request: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """``/api/generate`` as the client asked for it (prompt, system, raw, format, images, …), streamed."""
        return self._ndjson("/api/generate", {**request, "model": model, "stream": True}, model)

    async def _ndjson(self, path: str, payload: dict[str, Any], model: str) -> AsyncIterator[list[dict[str, Any]]]:
        async with self._stream_lines(path, payload, model) as reads:
            async for lines in reads:
                batch: list[dict[str, Any]] = []
                for line in lines:
                    if not line.strip():
                        continue
                    message = loads(line)
                    if "error" in message:  # in-band: the status line already said 200
                        if batch:
                            yield batch  # what came before it, first
                        raise BackendError(f"{self.base_url}: {message['error']}")
                    batch.append(message)
                    if message.get("done"):
                        try:
                            yield batch
                        finally:
                            # Consumers stop at the final message and close us: the end of the body is
                            # read then, after they have it, so the connection goes back to the pool.
                            await read_to_end(reads)
                        return
                if batch:
                    yield batch
        raise BackendError(f"{self.base_url} ended the stream without a final message")


async def read_to_end(lines: AsyncIterator[Any]) -> None:
    """Read what follows the final message (the end of the chunked body), so the connection goes back
    to the pool: a response closed part-read costs its connection and the next call a new one."""
    with contextlib.suppress(TimeoutError, TSAError):
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            async for _ in lines:
                pass


def unavailable(base_url: str, exc: BaseException) -> BackendUnavailable:
    if isinstance(exc, TimeoutError) and not isinstance(exc, aiohttp.ConnectionTimeoutError):
        return BackendUnavailable(f"LLM instance {base_url} timed out: {type(exc).__name__}", "timeout")
    return BackendUnavailable(f"LLM instance {base_url} unreachable: {type(exc).__name__}", "connect",
                              unsent=isinstance(exc, aiohttp.ClientConnectorError | ConnectFailed))


def status_error(status: int, body: bytes, base_url: str, model: str | None) -> TSAError | None:
    """The error an instance's status means, with its own message; None for a success."""
    if status < 400:
        return None
    text = body.decode(errors="replace")
    try:
        detail = json.loads(text).get("error", text)
    except (ValueError, AttributeError):
        detail = text
    if isinstance(detail, dict):  # the OpenAI shape: {"error": {"message": ...}}
        detail = detail.get("message", str(detail))
    if status == 404 and model is not None:
        return UnknownModel(f"model {model!r} is not available: {detail}")
    if status == 503:
        return BackendUnavailable(f"{urlsplit(base_url).hostname} is busy: {detail}", "busy")
    return BackendError(f"LLM instance answered {status}: {detail}", status)

"""A minimal HTTP/1.1 keep-alive client for load generation.

httpx's connection pool costs more CPU per request than a zero-latency backend does, and at 50
concurrent clients on 2 cores the load generator became the bottleneck (p99 of seconds for direct
calls). Here each simulated client owns its connections and parses only what a response needs —
status, ``Content-Length`` or chunked framing — so the generator's share of the CPU stays small and
is the same for every path measured.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


class HTTPFailure(Exception):
    """A non-2xx status, a broken connection or a malformed response."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    first_chunk_s: float  # from sending the request to the first non-empty body bytes


class Connection:
    def __init__(self, base_url: str, timeout_s: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        return await self.request("POST", path, body, headers)

    async def get(self, path: str, headers: dict[str, str]) -> Reply:
        return await self.request("GET", path, b"", headers)

    async def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        try:
            return await asyncio.wait_for(self._exchange(method, path, body, headers), self.timeout_s)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            await self.close()
            raise HTTPFailure(f"{type(exc).__name__}: {exc}") from exc

    async def _exchange(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Reply:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        started = time.perf_counter()
        self._writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{head}\r\n"
                           .encode() + body)
        status, fields = _head(await self._reader.readuntil(b"\r\n\r\n"))
        first = 0.0
        if fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self._reader.readline()).split(b";")[0], 16):
                parts.append(await self._reader.readexactly(size))
                await self._reader.readexactly(2)
                first = first or time.perf_counter() - started
            await self._reader.readexactly(2)
            payload = b"".join(parts)
        else:
            payload = await self._reader.readexactly(int(fields.get("content-length", "0")))
            first = time.perf_counter() - started
        if fields.get("connection", "").lower() == "close":
            await self.close()
        if not 200 <= status < 300:
            raise HTTPFailure(f"status {status}: {payload[:200]!r}")
        return Reply(status, payload, first)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


def _head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            fields[name.strip().lower()] = value.strip()
    return status, fields

"""The streamed calls' HTTP/1.1 client against small real servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httptools
import pytest

from tsa.fleet.http1 import ConnectFailed, Http1Pool, ServerClosed

pytestmark = pytest.mark.integration

@contextlib.asynccontextmanager
async def serving(handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A server on a free port; yields its URL and the count of connections it accepted."""
    accepted: list[int] = []

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", accepted
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    return await reader.readexactly(length)


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


async def test_a_chunked_stream_arrives_in_order_and_its_connection_is_reused():
    async def handler(reader, writer):
        while True:
            body = await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b'{"n":1}\n', b'{"n":2}\n', body):
                writer.write(chunked(part)[:-5])  # one chunk, not the end
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async with serving(handler) as (url, accepted):
        pool = Http1Pool(url, 5.0)
        for _ in range(3):
            async with pool.post("/api/chat", b'{"echo":true}', 5.0) as response:
                assert response.status == 200
                assert await response.read() == b'{"n":1}\n{"n":2}\n{"echo":true}'
        pool.close()
    assert len(accepted) == 1  # one connection for all three calls


async def test_a_connection_the_server_drops_as_the_next_request_arrives_is_replaced_unnoticed():
    async def answer_once_then_hang_up(reader, writer):
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # keep-alive, it says
        await writer.drain()
        await read_request(reader)  # but the next request on it is dropped unanswered

    async with serving(answer_once_then_hang_up) as (url, accepted):
        pool = Http1Pool(url, 5.0)
        for _ in range(3):
            async with pool.post("/x", b"{}", 5.0) as response:
                assert await response.read() == b"ok"
        pool.close()
    assert len(accepted) == 3  # the first, and one new connection for each dropped request


async def test_an_answer_cut_short_is_an_error_not_a_short_answer():
    async def cut(reader, writer):
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        await writer.drain()

    async with serving(cut) as (url, _):
        pool = Http1Pool(url, 5.0)
        with pytest.raises(ServerClosed):
            async with pool.post("/x", b"{}", 5.0) as response:
                await response.read()


async def test_silence_times_out_and_nonsense_is_a_parse_error():
    async def silent(reader, writer):
        await read_request(reader)
        await asyncio.sleep(5)

    async def nonsense(reader, writer):
        await read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    async with serving(silent) as (url, _):
        with pytest.raises(TimeoutError):
            async with Http1Pool(url, 5.0).post("/x", b"{}", 0.2):
                pass
    async with serving(nonsense) as (url, _):
        with pytest.raises(httptools.HttpParserError):
            async with Http1Pool(url, 5.0).post("/x", b"{}", 5.0):
                pass


async def test_nobody_listening_is_a_failure_to_connect():
    async with serving(lambda reader, writer: asyncio.sleep(0)) as (url, _):
        pass  # closed: the port is free again
    with pytest.raises(ConnectFailed):
        async with Http1Pool(url, 5.0).post("/x", b"{}", 5.0):
            pass


async def test_leaving_a_stream_early_closes_its_connection_so_the_server_stops():
    closed = asyncio.Event()

    async def endless(reader, writer):
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            while True:
                writer.write(chunked(b"token\n")[:-5])
                await writer.drain()
                await asyncio.sleep(0.01)
        except ConnectionError:
            closed.set()

    async with serving(endless) as (url, accepted):
        pool = Http1Pool(url, 5.0)
        async with pool.post("/x", b"{}", 5.0) as response:
            assert (await response.read_any()).startswith(b"token")
        await asyncio.wait_for(closed.wait(), 5)
    assert len(accepted) == 1

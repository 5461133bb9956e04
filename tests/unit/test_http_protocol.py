"""The server's coalescing of a response head with its first body part (no sockets: a recording transport)."""

from __future__ import annotations

import asyncio

from tsa.api.http_protocol import CoalescingTransport


class Recording:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


async def test_a_head_leaves_with_the_first_body_part_and_later_parts_at_once():
    real = Recording()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(HEAD)
    assert real.writes == []
    transport.write(b"ok")
    assert real.writes == [HEAD + b"ok"]
    transport.write(b"more")  # body parts are never held
    assert real.writes == [HEAD + b"ok", b"more"]
    assert transport.get_extra_info("peername") == "info:peername"  # the rest is the real transport's


async def test_a_head_with_no_body_yet_leaves_at_the_end_of_the_loop_turn_and_before_a_close():
    real = Recording()
    transport = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(HEAD)
    await asyncio.sleep(0)  # a stream whose first part is still being made
    assert real.writes == [HEAD]
    transport.write(HEAD)
    transport.close()
    assert real.writes == [HEAD, HEAD] and real.closed

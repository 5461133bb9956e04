"""The HTTP client each instance is reached through, against a real engine process."""

from __future__ import annotations

import contextlib

import psutil
import pytest

from tsa.fleet import OllamaClient

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "What torque do the casing bolts need?"}]


def _open_connections_to(port: int) -> set[int]:
    """Local ports of this process's established connections to ``port``."""
    return {c.laddr.port for c in psutil.Process().net_connections("tcp")
            if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED}


async def test_finished_streams_give_their_connection_back_to_the_pool(engines):
    """A stream read to its final message leaves its connection open for the next call: a consumer
    stops at that message, and a response closed part-read would cost a new connection every call."""
    [engine] = await engines(1, "--bench-token-ms", "0")
    client = OllamaClient(engine.url)
    seen: list[set[int]] = []
    try:
        for _ in range(5):
            async with contextlib.aclosing(client.chat_batches("bench-chat", MESSAGES, {"num_predict": 4})) as batches:
                async for batch in batches:
                    if batch[-1].get("done"):
                        break  # as the fleet's relay does: stop at the final message, and close the stream
            seen.append(_open_connections_to(engine.port))
    finally:
        await client.aclose()
    assert all(len(ports) == 1 for ports in seen), seen
    assert len(set.union(*seen)) == 1, f"a new connection per call: {seen}"

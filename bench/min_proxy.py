"""The least a Python gateway can do: a raw ASGI app on uvicorn that forwards each request to one of
the backends (round-robin) with aiohttp and streams the answer back — no routing framework, no
authentication, no balancing decisions, no metrics. ``bench.gateway`` runs it as a reference row:
the part of tsa's added latency that any proxy written this way pays on this machine.

    python -m bench.min_proxy --port 8099 --backend http://127.0.0.1:11500 --backend …
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import uvicorn

from tsa.asgi import read_body


def proxy(backends: list[str]) -> Callable[..., Awaitable[None]]:
    turn = itertools.cycle(backends)
    session: aiohttp.ClientSession | None = None

    async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                  send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        nonlocal session
        if scope["type"] != "http":
            return
        session = session or aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        body = await read_body(receive)
        async with session.post(next(turn) + scope["path"], data=body,
                                headers={"Content-Type": "application/json"}) as upstream:
            await send({"type": "http.response.start", "status": upstream.status,
                        "headers": [(b"content-type", upstream.headers.get("Content-Type", "").encode())]})
            async for data in upstream.content.iter_any():
                await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", action="append", required=True)
    args = parser.parse_args()
    uvicorn.run(proxy(args.backend), host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                lifespan="off")


if __name__ == "__main__":
    main()

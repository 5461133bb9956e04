"""A local web for the web-search benchmark: a SearXNG-compatible ``/search`` and article pages
answered after fixed delays, so the fallback's own cost can be told apart from the web's.

    python -m bench.web_pages --port 8090

``/search?q=…`` lists five pages, ``/page/<delay_ms>/<n>?run=<r>``, whose delays are
``PAGE_DELAYS_MS``; the search itself answers after ``SEARCH_DELAY_MS``. A page's text depends on
``run``, so a new run's passages miss the embedding cache as new pages would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import uvicorn

SEARCH_DELAY_MS = 30
PAGE_DELAYS_MS = (20, 40, 60, 80, 100)
NAV = "".join(f'<a href="/s{n}">Section {n}</a> ' for n in range(40))


def article(n: int, run: str) -> bytes:
    paragraphs = "".join(
        f"<p>Run {run}, page {n}, paragraph {p}: the circulator's impeller clearance is checked with a feeler "
        f"gauge at three points; service interval {p * 50 + n} hours; seal kit part AQ-{n}{p:02d}.</p>"
        for p in range(24))
    return (f"<!doctype html><html><head><title>Service note {n}</title></head><body><header><nav>{NAV}</nav>"
            f"</header><aside>Buy now! Free shipping on orders over 50 €.</aside><main><article><h1>Service "
            f"note {n}</h1>{paragraphs}</article></main><footer>© 2026 · Imprint · Privacy</footer></body></html>"
            ).encode()


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
              send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    query = parse_qs(scope["query_string"].decode())
    path = scope["path"]
    base = f"http://{dict(scope['headers'])[b'host'].decode()}"
    if path == "/search":
        await asyncio.sleep(SEARCH_DELAY_MS / 1000)
        run = query.get("q", [""])[0].rsplit(" ", 1)[-1]
        results = [{"url": f"{base}/page/{delay}/{n}?run={run}", "title": f"Service note {n}", "content": ""}
                   for n, delay in enumerate(PAGE_DELAYS_MS)]
        body, kind = json.dumps({"results": results}).encode(), b"application/json"
    elif path.startswith("/page/"):
        _, _, delay, n = path.split("/")
        await asyncio.sleep(int(delay) / 1000)
        body, kind = article(int(n), query.get("run", ["0"])[0]), b"text/html; charset=utf-8"
    else:
        body, kind = b"not found", b"text/plain"
    await send({"type": "http.response.start", "status": 200 if body != b"not found" else 404,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning", access_log=False,
                lifespan="off")


if __name__ == "__main__":
    main()

"""A local web for the web-search tests (no test reaches the internet): a SearXNG-compatible search
endpoint and a site with realistic pages — navigation, ads, a long article, one over the size cap, a
slow one, a redirect loop, a PDF and a redirect to a loopback service that must be refused.

Both run on real sockets (uvicorn); the search endpoint counts its calls and can be told to fail."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.serving import served_asgi

CHROME = """<header><nav><a href="/">Home</a> | <a href="/products">Products</a> | <a href="/support">Support</a> |
<a href="/careers">Careers</a> | <a href="/login">Customer login</a></nav></header>
<aside class="ad"><p>SPECIAL OFFER: 20% off all garden furniture this weekend only! Subscribe to our newsletter for
exclusive deals and coupons.</p></aside>"""
FOOTER = """<footer><p>© 2026 Aquaflux Pumps GmbH · Imprint · Privacy policy · Cookie settings · Sitemap</p>
<p>Follow us on social media for product news and trade fair dates.</p></footer>"""


def page(title: str, article: str) -> str:
    return (f"<!doctype html><html><head><title>{title}</title></head><body>{CHROME}"
            f"<main><article><h1>{title}</h1>{article}</article></main>{FOOTER}</body></html>")


IMPELLER = page("XR-500 circulator: setting the impeller clearance", """
<p>The XR-500 circulator pump is used in district heating substations. After replacing the wear ring, the
impeller clearance must be set again before the pump is returned to service.</p>
<p>The axial clearance between the impeller and the wear ring of the XR-500 is 0.35 mm. Check it with a
feeler gauge at three points around the circumference; the readings must not differ by more than 0.05 mm.</p>
<p>If the clearance is larger than 0.5 mm the wear ring must be replaced, because efficiency drops sharply and
the pump may cavitate at low inlet pressure.</p>
<p>Tighten the impeller nut to 45 N·m after setting the clearance and secure it with the tab washer.</p>""")

GARDEN = page("Garden fountain pumps: buyer's guide", """
<p>A fountain pump for a small garden pond should move the pond's whole volume once every two hours. Solar
models are quiet but only run in sunshine; mains models need a weatherproof outdoor socket.</p>
<p>Look for a pump with a foam pre-filter, which keeps leaves and algae out of the impeller.</p>""")

LONG = page("The history of centrifugal pumps", "".join(
    f"<p>Chapter {n}: centrifugal pumps were improved again in the year {1700 + n}, when engineers studied "
    f"the flow through the volute casing and the shape of the vanes in more detail than before.</p>"
    for n in range(200)))


BRAVE_TOKEN = "brave-test-token"


@dataclass
class Search:
    """What the search endpoint answers, and how often it was asked."""

    calls: int = 0
    mode: str = "ok"  # ok, error (500), slow (answers after 30 s), garbage
    results: list[dict[str, str]] = field(default_factory=list)


@dataclass
class LocalWeb:
    search_url: str
    site: str  # http://127.0.0.1:PORT
    site_by_name: str  # http://localhost:PORT, for domain rules
    loopback_service: str  # a loopback service no fetch may reach
    search: Search
    secret_reads: list[str]

    def url(self, path: str, by_name: bool = False) -> str:
        return (self.site_by_name if by_name else self.site) + path


Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _respond(send: Send, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
                   headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def _site(web: dict[str, Any]) -> Callable[..., Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/xr500-impeller-clearance":
            await _respond(send, 200, IMPELLER.encode())
        elif path == "/garden-fountains":
            await _respond(send, 200, GARDEN.encode())
        elif path == "/pump-history":
            await _respond(send, 200, LONG.encode())
        elif path == "/huge":  # over the size cap, without saying so in advance
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/html")]})
            for _ in range(64):
                await send({"type": "http.response.body", "body": b"<p>" + b"x" * 65536 + b"</p>",
                            "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        elif path == "/slow":
            await asyncio.sleep(30)
            await _respond(send, 200, GARDEN.encode())
        elif path == "/loop":
            await _respond(send, 302, b"", headers=[(b"location", b"/loop")])
        elif path == "/datasheet.pdf":
            await _respond(send, 200, b"%PDF-1.4 not a page", "application/pdf")
        elif path == "/to-loopback":
            await _respond(send, 302, b"", headers=[(b"location", (web["loopback"] + "/secret").encode())])
        else:
            await _respond(send, 404, b"not found")
    return app


def _search_app(search: Search) -> Callable[..., Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/res/v1/web/search":  # Brave Search's shape, behind its token
            token = dict(scope["headers"]).get(b"x-subscription-token")
            if token != BRAVE_TOKEN.encode():
                await _respond(send, 401, b'{"error": "bad token"}', "application/json")
                return
            search.calls += 1
            results = [{"url": r["url"], "title": r["title"], "description": r["content"]} for r in search.results]
            await _respond(send, 200, json.dumps({"type": "search", "web": {"results": results}}).encode(),
                           "application/json")
            return
        if scope["path"] != "/search":
            await _respond(send, 404, b"")
            return
        search.calls += 1
        query = parse_qs(scope["query_string"].decode()).get("q", [""])[0]
        if search.mode == "error":
            await _respond(send, 500, b"upstream engines failed", "text/plain")
        elif search.mode == "slow":
            await asyncio.sleep(30)
        elif search.mode == "garbage":
            await _respond(send, 200, b"<html>captcha</html>", "text/html")
        else:
            body = {"query": query, "number_of_results": len(search.results), "results": search.results}
            await _respond(send, 200, json.dumps(body).encode(), "application/json")
    return app


def _secret_app(reads: list[str]) -> Callable[..., Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] == "http":
            reads.append(scope["path"])
            await _respond(send, 200, b"<html><body>internal admin data</body></html>")
    return app


@contextlib.asynccontextmanager
async def local_web() -> AsyncIterator[LocalWeb]:
    search, reads, shared = Search(), [], {}
    # force_exit: the slow pages and searches must not hold the test up.
    async with served_asgi(_search_app(search), force_exit=True) as search_port, \
            served_asgi(_site(shared), force_exit=True) as site_port, \
            served_asgi(_secret_app(reads), force_exit=True) as secret_port:
        shared["loopback"] = f"http://127.0.0.1:{secret_port}"
        yield LocalWeb(f"http://127.0.0.1:{search_port}", f"http://127.0.0.1:{site_port}",
                       f"http://localhost:{site_port}", shared["loopback"], search, reads)

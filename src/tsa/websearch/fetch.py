"""Fetch a web page on a user's behalf, safely: http(s) only, public addresses only (unless the host
is explicitly allowed), redirects followed by hand and each hop checked again, a size cap read as the
body streams, and one deadline for the whole page however slowly it drips.

Known limit: the address is checked when resolved, and httpx resolves again when it connects; a
DNS server that answers differently within those milliseconds (rebinding) is not defeated here.
Run the service where its egress firewall also refuses private ranges if that matters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from tsa.websearch.addresses import BothRules, DomainRules, fetchable_scheme, may_connect

READABLE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


@dataclass(frozen=True)
class Page:
    url: str  # as the search result named it
    final_url: str  # after redirects
    text: str  # the body, decoded
    content_type: str
    fetched_at: str  # ISO 8601, UTC


class FetchRefused(Exception):
    """A page not fetched: ``outcome`` is the metric label (blocked, too_large, not_html, redirects,
    timeout, error), the message says why."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class PageFetcher:
    def __init__(self, timeout_s: float = 5.0, max_bytes: int = 2 * 1024 * 1024, max_redirects: int = 3,
                 allowed_private: frozenset[str] = frozenset()) -> None:
        self.timeout_s, self.max_bytes, self.max_redirects = timeout_s, max_bytes, max_redirects
        self.allowed_private = allowed_private
        self._http = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False,
                                       headers={"User-Agent": "tsa-web-search/1 (+manuals assistant)"})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def fetch(self, url: str, rules: DomainRules | BothRules) -> Page:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._follow(url, rules)
        except TimeoutError:
            raise FetchRefused("timeout", f"{url} took longer than {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise FetchRefused("error", f"{url}: {type(exc).__name__}") from None

    async def _follow(self, url: str, rules: DomainRules | BothRules) -> Page:
        current = url
        for _ in range(self.max_redirects + 1):
            await self._check(current, rules)
            async with self._http.stream("GET", current) as response:
                if response.is_redirect and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise FetchRefused("error", f"{current} answered {response.status_code}")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if content_type not in READABLE_TYPES:
                    raise FetchRefused("not_html", f"{current} is {content_type or 'of no stated type'}")
                body = await self._read_capped(response, current)
                text = body.decode(response.encoding or "utf-8", errors="replace")
                return Page(url, current, text, content_type, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        raise FetchRefused("redirects", f"{url} redirected more than {self.max_redirects} times")

    async def _check(self, url: str, rules: DomainRules | BothRules) -> None:
        if not fetchable_scheme(url):
            raise FetchRefused("blocked", f"{url}: only http and https are fetched")
        if not rules.permits(url):
            raise FetchRefused("blocked", f"{url}: the domain is not allowed")
        parts = urlsplit(url)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
        except OSError:
            raise FetchRefused("error", f"{parts.hostname} does not resolve") from None
        if not may_connect(url, [info[4][0] for info in infos], self.allowed_private):
            raise FetchRefused("blocked", f"{url}: a private or loopback address")

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchRefused("too_large", f"{url} is {declared} bytes, over {self.max_bytes}")
        body = bytearray()
        async for part in response.aiter_bytes():
            body += part
            if len(body) > self.max_bytes:
                raise FetchRefused("too_large", f"{url} is over {self.max_bytes} bytes")
        return bytes(body)

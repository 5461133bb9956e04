"""Search providers behind one interface: SearXNG's JSON API (self-hosted) and Brave Search.

Each call has a timeout and a result limit, and every failure becomes a ``SearchFailed`` with a
short reason, so the answer path can go on without the web.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class SearchResult:
    url: str
    title: str
    snippet: str


class SearchFailed(Exception):
    """The provider could not be asked, or answered with an error or nonsense."""


class SearchProvider(Protocol):
    name: str
    # Which service answers (a provider and its address): part of the cache keys of its results.
    identity: str

    async def search(self, query: str, limit: int) -> list[SearchResult]: ...

    async def aclose(self) -> None: ...


def searxng_results(body: Any, limit: int) -> list[SearchResult]:
    """SearXNG's ``/search?format=json``: ``{"results": [{"url", "title", "content"}, …]}``."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise SearchFailed("SearXNG answered without a results list")
    return _results(body["results"], "content", limit)


def brave_results(body: Any, limit: int) -> list[SearchResult]:
    """Brave's web search: ``{"web": {"results": [{"url", "title", "description"}, …]}}`` (no ``web``
    when nothing was found)."""
    if not isinstance(body, dict):
        raise SearchFailed("Brave Search answered with something other than an object")
    web = body.get("web") or {}
    return _results(web.get("results") or [], "description", limit)


def _results(items: list[Any], snippet_field: str, limit: int) -> list[SearchResult]:
    found: list[SearchResult] = []
    seen: set[str] = set()
    for item in items:
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or url in seen:
            continue
        seen.add(url)
        found.append(SearchResult(url, str(item.get("title") or url), str(item.get(snippet_field) or "")))
        if len(found) == limit:
            break
    return found


class _HttpProvider:
    name = "http"

    def __init__(self, timeout_s: float) -> None:
        self._http = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get_json(self, url: str, params: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        try:
            response = await self._http.get(url, params=params, headers=headers)
        except httpx.TimeoutException:
            raise SearchFailed(f"{self.name} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise SearchFailed(f"{self.name} unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise SearchFailed(f"{self.name} answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise SearchFailed(f"{self.name} answered with something other than JSON") from None


class SearxngProvider(_HttpProvider):
    name = "searxng"

    def __init__(self, base_url: str, timeout_s: float) -> None:
        super().__init__(timeout_s)
        self.base_url = base_url.rstrip("/")
        self.identity = f"searxng {self.base_url}"

    async def search(self, query: str, limit: int) -> list[SearchResult]:
        body = await self._get_json(f"{self.base_url}/search", {"q": query, "format": "json"})
        return searxng_results(body, limit)


class BraveProvider(_HttpProvider):
    name = "brave"

    def __init__(self, api_key: str, timeout_s: float,
                 base_url: str = "https://api.search.brave.com/res/v1/web/search") -> None:
        super().__init__(timeout_s)
        self.api_key, self.base_url = api_key, base_url
        self.identity = f"brave {base_url}"

    async def search(self, query: str, limit: int) -> list[SearchResult]:
        body = await self._get_json(self.base_url, {"q": query, "count": min(limit, 20)},
                                    {"Accept": "application/json", "X-Subscription-Token": self.api_key})
        return brave_results(body, limit)

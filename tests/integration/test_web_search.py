"""Web search when the manuals are silent, against a local search endpoint and a local site
(tests/integration/web/sites.py): no test reaches the internet."""

from __future__ import annotations

import pytest

from tests.integration.conftest import client_as, metric_value, new_user, wait_until_processed
from tests.integration.web.sites import BRAVE_TOKEN, local_web
from tsa.websearch.addresses import DomainRules
from tsa.websearch.extract import main_text
from tsa.websearch.fetch import FetchRefused, PageFetcher

pytestmark = pytest.mark.integration

QUESTION = "What is the impeller clearance of the XR-500 circulator?"


@pytest.fixture
async def web():
    async with local_web() as running:
        yield running


@pytest.fixture
def web_settings(settings, web):
    site_port = web.site.rsplit(":", 1)[1]
    settings.web_search_provider, settings.web_search_url = "searxng", web.search_url
    settings.web_fetch_allow_private = (f"127.0.0.1:{site_port}", f"localhost:{site_port}")
    settings.web_fetch_timeout_s, settings.web_search_timeout_s = 2.0, 2.0
    settings.web_fetch_max_bytes = 1024 * 1024
    return settings


def results(web, *paths: str, by_name: bool = False) -> list[dict[str, str]]:
    return [{"url": web.url(p, by_name), "title": p.strip("/").replace("-", " "), "content": "…"} for p in paths]


async def ask(api, question: str = QUESTION, **body) -> dict:
    response = await api.post("/api/rag-chat", json={"query": question, "max_tokens": 12, **body})
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_fetcher_reads_pages_and_refuses_what_it_must(web):
    site_port = web.site.rsplit(":", 1)[1]
    fetcher = PageFetcher(timeout_s=1.0, max_bytes=1024 * 1024, max_redirects=3,
                          allowed_private=frozenset({f"127.0.0.1:{site_port}"}))
    anything = DomainRules()
    try:
        page = await fetcher.fetch(web.url("/xr500-impeller-clearance"), anything)
        title, text = main_text(page)
        assert "XR-500" in title and "0.35 mm" in text
        assert "SPECIAL OFFER" not in text and "Careers" not in text and "Cookie settings" not in text
        refused = {}
        for path in ("/huge", "/slow", "/loop", "/datasheet.pdf", "/to-loopback"):
            with pytest.raises(FetchRefused) as caught:
                await fetcher.fetch(web.url(path), anything)
            refused[path] = caught.value.outcome
        assert refused == {"/huge": "too_large", "/slow": "timeout", "/loop": "redirects",
                           "/datasheet.pdf": "not_html", "/to-loopback": "blocked"}
        for url in (web.loopback_service + "/secret", "http://169.254.169.254/latest/meta-data/",
                    "file:///etc/passwd", "ftp://127.0.0.1/x"):
            with pytest.raises(FetchRefused) as caught:
                await fetcher.fetch(url, anything)
            assert caught.value.outcome == "blocked", url
        assert web.secret_reads == [], "a private service was reached"
        with pytest.raises(FetchRefused) as caught:
            await fetcher.fetch(web.url("/garden-fountains"), DomainRules(block=("127.0.0.1",)))
        assert caught.value.outcome == "blocked"
    finally:
        await fetcher.aclose()


async def test_an_unanswered_question_is_answered_from_the_right_page_and_says_so(web_settings, web, api_for):
    web.search.results = results(web, "/garden-fountains", "/xr500-impeller-clearance", "/pump-history",
                                 "/datasheet.pdf", "/to-loopback")
    counted = (("tsa_web_search_total", {"provider": "searxng", "outcome": "used"}),
               ("tsa_web_fallbacks_total", {"reason": "nothing_relevant"}),
               ("tsa_web_pages_total", {"outcome": "blocked"}), ("tsa_web_pages_total", {"outcome": "not_html"}))
    async with api_for(web_settings) as api:
        before = [await metric_value(api, name, **labels) for name, labels in counted]
        answer = await ask(api)
        assert answer["answer"].startswith("From the web, not the manuals:")
        assert answer["covered"] is False
        assert answer["web"]["used"] is True and answer["web"]["outcome"] == "used"
        web_sources = [s for s in answer["sources"] if s["kind"] == "web"]
        assert web_sources and len(web_sources) == len(answer["sources"])
        assert web_sources[0]["label"] == "W1" and web_sources[0]["url"] == web.url("/xr500-impeller-clearance")
        assert "impeller clearance" in web_sources[0]["snippet"] and web_sources[0]["retrieved_at"]
        assert web.secret_reads == []
        after = [await metric_value(api, name, **labels) for name, labels in counted]
        assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1]


async def test_never_never_searches_and_the_default_can_be_never(web_settings, web, api_for):
    web.search.results = results(web, "/xr500-impeller-clearance")
    web_settings.web_search_default = "never"
    async with api_for(web_settings) as api:
        for body in ({"web_search": "never"}, {}):
            answer = await ask(api, **body)
            assert answer["sources"] == [] and answer["web"] is None
        assert web.search.calls == 0
        assert (await ask(api, web_search="auto"))["web"]["used"] is True
        assert web.search.calls == 1


async def test_always_without_a_provider_is_a_clear_400(settings, api_for):
    async with api_for(settings) as api:
        response = await api.post("/api/rag-chat", json={"query": QUESTION, "web_search": "always"})
        assert response.status_code == 400 and "WEB_SEARCH_PROVIDER" in response.json()["error"]["message"]
        assert (await ask(api, web_search="auto"))["web"] is None  # auto without a provider: the manuals only


@pytest.mark.parametrize("mode", ["error", "slow", "garbage"])
async def test_a_failing_provider_still_gets_the_manuals_answer(web_settings, web, api_for, sample_pdf, mode):
    web.search.mode = mode
    async with api_for(web_settings) as api:
        errors = await metric_value(api, "tsa_web_search_total", provider="searxng", outcome="error")
        uploaded = await api.post("/api/documents", files={"file": ("hf22-service-manual.pdf", sample_pdf,
                                                                    "application/pdf")})
        await wait_until_processed(api, uploaded.json()["document_id"])
        answer = await ask(api, "What torque do the pump casing bolts need?", web_search="always")
        assert answer["web"] == {"used": False, "provider": "searxng", "outcome": "error", "identity": None}
        assert answer["sources"] and all(s["kind"] == "manual" for s in answer["sources"])
        assert not answer["answer"].startswith("From the web")
        assert await metric_value(api, "tsa_web_search_total", provider="searxng", outcome="error") == errors + 1


async def test_block_listed_domains_never_appear(web_settings, web, api_for):
    web_settings.web_search_block_domains = ("localhost",)
    web.search.results = results(web, "/xr500-impeller-clearance", by_name=True) + results(web, "/garden-fountains")
    async with api_for(web_settings) as api:
        answer = await ask(api)
        assert all("localhost" not in s.get("url", "") for s in answer["sources"])
        web.search.results = results(web, "/xr500-impeller-clearance", by_name=True)
        only_blocked = await ask(api, "XR-500 impeller nut torque?")
        assert only_blocked["web"]["outcome"] == "blocked" and only_blocked["sources"] == []


async def test_the_second_identical_question_asks_the_provider_nothing(web_settings, web, service_for):
    web.search.results = results(web, "/xr500-impeller-clearance")
    async with service_for(web_settings) as (container, api):
        first = await ask(api)
        second = await ask(api)
        assert web.search.calls == 1
        assert second["cached"]["inference"] is True and second["answer"] == first["answer"]
        assert second["sources"] == first["sources"]
        stats = (await api.get("/api/advanced-cache-stats")).json()
        assert stats["layers"]["web"]["hits"] >= 1 and stats["layers"]["web"]["entries_written"] >= 2
        # The web's results change (their cache expired): the answer made from the old ones is not served.
        await container.redis.delete(*await container.redis.keys("tsa:v1:web:*"))
        web.search.results = results(web, "/garden-fountains")
        third = await ask(api)
        assert web.search.calls == 2 and third["cached"]["inference"] is False
        assert third["web"]["identity"] != second["web"]["identity"]
        assert web.url("/xr500-impeller-clearance") not in [s.get("url") for s in third["sources"]]


async def test_a_collection_sets_its_own_mode_and_narrows_the_domains(web_settings, web, service_for):
    """Questions confined to one collection follow its settings; its domain lists narrow the service's."""
    web.search.results = (results(web, "/xr500-impeller-clearance", by_name=True)
                          + results(web, "/garden-fountains"))
    async with service_for(web_settings) as (container, admin):
        default_id = await container.access.collections.id_of("default")
        assert (await admin.patch(f"/api/collections/{default_id}", json={"everyone": "none"})).is_success
        technician = await new_user(container, "viewer", grants={"pumps": "read"})
        pumps = await container.access.collections.id_of("pumps")
        changed = await admin.patch(f"/api/collections/{pumps}", json={"web_search": "never"})
        assert changed.json()["web_search"] == "never"
        async with client_as(admin, technician["headers"]) as viewer:
            assert (await ask(viewer))["web"] is None and web.search.calls == 0
            assert (await ask(viewer, web_search="auto"))["web"]["used"] is True  # the asker's word wins
            await admin.patch(f"/api/collections/{pumps}", json={"web_search": "default",
                                                                 "web_allow_domains": ["127.0.0.1"]})
            answer = await ask(viewer, "XR-500 impeller nut torque after setting the clearance?")
            assert answer["web"]["outcome"] in ("used", "no_results")
            assert all(s["url"].startswith(web.site) for s in answer["sources"])
        settings = (await admin.get("/api/collections")).json()["collections"]
        assert [c for c in settings if c["id"] == pumps][0]["web_search"] is None
        assert [c for c in settings if c["id"] == pumps][0]["web_allow_domains"] == ["127.0.0.1"]
        bad = await admin.patch(f"/api/collections/{pumps}", json={"web_block_domains": ["not a domain!"]})
        assert bad.status_code == 422


async def test_auto_searches_after_a_manuals_answer_that_fails_its_check(bench_settings, web, api_for, sample_pdf):
    """The manuals hold something close but the answer invents a value: in auto mode the web's answer
    follows it, marked, with its sources after the manuals' and the grounding checked over both."""
    site_port = web.site.rsplit(":", 1)[1]
    bench_settings.web_search_provider, bench_settings.web_search_url = "searxng", web.search_url
    bench_settings.web_fetch_allow_private = (f"127.0.0.1:{site_port}",)
    bench_settings.web_min_similarity = -1.0  # benchmark vectors are random: let every passage count
    web.search.results = results(web, "/xr500-impeller-clearance")
    async with api_for(bench_settings) as api:
        before = await metric_value(api, "tsa_web_fallbacks_total", reason="not_grounded")
        uploaded = await api.post("/api/documents", files={"file": ("hf22-service-manual.pdf", sample_pdf,
                                                                    "application/pdf")})
        await wait_until_processed(api, uploaded.json()["document_id"])
        grounded = await ask(api, "Casing bolts? Say: The manual lists the casing bolts [1]", max_tokens=40)
        assert grounded["web"] is None and web.search.calls == 0  # a supported answer needs no web
        answer = await ask(api, "Casing bolt torque? Say: They need 99 N·m [1]", max_tokens=40)
        manual, _, from_web = answer["answer"].partition("\n\nFrom the web, not the manuals: ")
        assert "99 N·m" in manual and from_web, answer["answer"]
        kinds = [s["kind"] for s in answer["sources"]]
        assert kinds == sorted(kinds) and kinds[0] == "manual" and kinds[-1] == "web"  # manuals first
        assert [s["label"] for s in answer["sources"] if s["kind"] == "web"][0] == "W1"
        assert answer["web"]["used"] is True and web.search.calls == 1
        assert await metric_value(api, "tsa_web_fallbacks_total", reason="not_grounded") == before + 1


async def test_brave_search_answers_the_same_way(web_settings, web, api_for):
    web_settings.web_search_provider, web_settings.web_search_api_key = "brave", BRAVE_TOKEN
    web_settings.web_search_url = f"{web.search_url}/res/v1/web/search"
    web.search.results = results(web, "/xr500-impeller-clearance")
    async with api_for(web_settings) as api:
        answer = await ask(api)
        assert answer["web"]["provider"] == "brave" and answer["web"]["used"] is True
        assert answer["sources"][0]["url"] == web.url("/xr500-impeller-clearance")
    web_settings.web_search_api_key = "wrong"
    async with api_for(web_settings) as api:
        refused = await ask(api, "XR-500 impeller nut torque?")
        assert refused["web"]["outcome"] == "error" and refused["sources"] == []

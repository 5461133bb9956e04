"""Web search decisions without I/O: which URLs may be fetched, providers' answers, passages, ranking."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tsa.config import Settings
from tsa.rag.prompt import build_messages, web_citations_numbered, web_preamble
from tsa.websearch.addresses import DomainRules, fetchable_scheme, may_connect, public_address
from tsa.websearch.extract import passages
from tsa.websearch.providers import SearchFailed, brave_results, searxng_results
from tsa.websearch.service import WebPassage, best_passages, results_identity


def test_domain_rules_cover_subdomains_and_block_wins():
    rules = DomainRules(allow=("grundfos.com", "wilo.com"), block=("shop.wilo.com",))
    assert rules.permits("https://www.grundfos.com/service/xr500")
    assert rules.permits("https://WILO.com./docs")
    assert not rules.permits("https://shop.wilo.com/cart")
    assert not rules.permits("https://notgrundfos.com/")  # a suffix is not a subdomain
    assert not rules.permits("https://example.org/")
    assert DomainRules().permits("https://example.org/") and not DomainRules().permits("not a url")
    assert not DomainRules(block=("example.org",)).permits("http://a.b.example.org/x")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254",
                                     "::1", "fd00::1", "fe80::1", "0.0.0.0", "224.0.0.1", "::ffff:127.0.0.1",
                                     "100.64.0.1"])
def test_private_loopback_link_local_and_special_addresses_are_not_public(address):
    assert not public_address(address)


def test_only_public_addresses_or_named_hosts_may_be_connected_to():
    assert public_address("93.184.216.34") and public_address("2606:4700::1111")
    assert may_connect("https://example.org/", ["93.184.216.34"], frozenset())
    # One private address among the answers is enough to refuse (DNS can return both).
    assert not may_connect("https://example.org/", ["93.184.216.34", "10.0.0.5"], frozenset())
    assert not may_connect("https://example.org/", [], frozenset())
    assert may_connect("http://wiki.intranet:8080/p", ["10.0.0.5"], frozenset({"wiki.intranet:8080"}))
    assert not may_connect("http://wiki.intranet:9090/p", ["10.0.0.5"], frozenset({"wiki.intranet:8080"}))
    assert fetchable_scheme("https://a.b/") and not fetchable_scheme("file:///etc/passwd")
    assert not fetchable_scheme("gopher://a.b/") and not fetchable_scheme("http:///nohost")


def test_provider_answers_are_read_defensively():
    body = {"results": [{"url": "https://a.example/1", "title": "One", "content": "first"},
                        {"url": "https://a.example/1", "title": "Again"}, {"url": "javascript:alert(1)"},
                        {"title": "no url"}, "junk", {"url": "http://b.example/2"}]}
    found = searxng_results(body, 5)
    assert [(r.url, r.title, r.snippet) for r in found] == [
        ("https://a.example/1", "One", "first"), ("http://b.example/2", "http://b.example/2", "")]
    assert len(searxng_results(body, 1)) == 1
    with pytest.raises(SearchFailed):
        searxng_results({"error": "rate limited"}, 5)
    assert brave_results({"web": {"results": [{"url": "https://c.example/", "title": "C", "description": "d"}]}},
                         5)[0].snippet == "d"
    assert brave_results({"query": {"original": "x"}}, 5) == []  # nothing found: no "web" at all
    with pytest.raises(SearchFailed):
        brave_results(["not", "an", "object"], 5)


def test_passages_keep_paragraphs_together_and_cut_long_ones_at_sentences():
    text = "Short one.\n\nShort two.\n\n" + " ".join(f"Sentence number {n} is here." for n in range(80))
    cut = passages(text, max_chars=300)
    assert cut[0].startswith("Short one.\nShort two.")
    assert all(len(p) <= 300 for p in cut) and len(cut) > 5
    assert all(p.rstrip().endswith(".") for p in cut[1:])
    assert passages("") == [] and passages("\n\n  \n") == []


def test_best_passages_rank_by_cosine_and_drop_the_far_ones():
    page = {"url": "https://a.example/", "title": "A", "fetched_at": "2026-11-30T10:00:00+00:00"}
    candidates = [(page, "far"), (page, "close"), (page, "closer")]
    chosen = best_passages([1.0, 0.0], candidates, [[0.0, 1.0], [0.8, 0.6], [1.0, 0.1]], 2, 0.5)
    assert [p.text for p in chosen] == ["closer", "close"] and chosen[0].score > chosen[1].score
    assert best_passages([1.0, 0.0], candidates, [[0.0, 1.0], [0.0, 1.0], [-1.0, 0.0]], 3, 0.5) == []
    assert best_passages([1.0, 0.0], [], [], 3, 0.0) == []


def test_web_passages_are_labelled_apart_and_checked_as_one_list():
    web = [WebPassage("https://a.example/x", "XR-500 note", "Clearance is 0.35 mm.", "2026-11-30T10:00:00+00:00", 0.8)]
    messages = build_messages("Clearance?", [], None, web)
    assert "[W1] XR-500 note — https://a.example/x" in messages[-1]["content"]
    assert "[W1]" in messages[0]["content"] and "less reliable" in messages[0]["content"]
    assert "web" not in build_messages("Clearance?", [], None)[0]["content"]
    assert web_citations_numbered("It is 0.35 mm [W1], see also [2] and [W2].", 2) == \
        "It is 0.35 mm [3], see also [2] and [4]."
    assert web_preamble(0, 0) == "" and web_preamble(0, 2).startswith("From the web")
    assert "not only the manuals" in web_preamble(3, 1)
    assert results_identity([]) != results_identity(searxng_results({"results": [{"url": "https://a.b/"}]}, 1))


def test_web_search_settings_are_checked_at_start_up():
    with pytest.raises(ValidationError, match="WEB_SEARCH_URL"):
        Settings(web_search_provider="searxng")
    with pytest.raises(ValidationError, match="WEB_SEARCH_API_KEY"):
        Settings(web_search_provider="brave")
    settings = Settings(web_search_provider="searxng", web_search_url="http://searx:8080",
                        web_search_allow_domains="grundfos.com, .wilo.com", web_fetch_allow_private="wiki:80")
    assert settings.web_search_allow_domains == ("grundfos.com", "wilo.com")
    assert settings.web_fetch_allow_private == ("wiki:80",)
    assert Settings().web_search_provider == "none"


def test_only_the_passages_sharing_most_of_the_questions_words_are_embedded():
    from tsa.websearch.service import likeliest

    page = {"url": "https://a.example/"}
    texts = ["Buy garden furniture now.", "The impeller clearance of the XR-500 is 0.35 mm.",
             "Impeller history.", "Clearance of garden gates.", "Shipping and returns."]
    chosen = likeliest("What is the XR-500 impeller clearance?", [(page, t) for t in texts], 2)
    assert [t for _, t in chosen] == [texts[1], texts[2]]  # a tie goes to the earlier passage
    assert len(likeliest("anything", [(page, t) for t in texts], 10)) == 5

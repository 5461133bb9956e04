"""Access decisions, key formats and strict request bodies: pure, no I/O."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tsa.access import LEVELS, Role, scope_for
from tsa.access.policy import effective_level
from tsa.access.ratelimit import retry_after_header
from tsa.access.tokens import csrf_matches, new_key, parse_key, secret_hash, secret_matches
from tsa.api.schemas import InstanceRequest, KeyCreate, RagChatRequest, SearchRequest, UserCreate
from tsa.cache.keys import scope_digest

NONE, READ, EDIT = LEVELS["none"], LEVELS["read"], LEVELS["edit"]


@pytest.mark.parametrize(("role", "granted", "expected"), [
    (Role.viewer, EDIT, READ),  # a viewer granted edit still only reads
    (Role.viewer, NONE, NONE),
    (Role.editor, EDIT, EDIT),
    (Role.editor, READ, READ),
    (Role.editor, NONE, NONE),
    (Role.admin, NONE, EDIT),  # admins reach everything
])
def test_roles_cap_what_grants_give(role, granted, expected):
    assert effective_level(role, granted) == expected


def test_scope_lists_readable_and_editable_collections():
    scope = scope_for("editor", [1, 2, 3, 4], [READ, EDIT, NONE, EDIT])
    assert scope.readable == {1, 2, 4} and scope.editable == {2, 4}
    assert scope_for("viewer", [1, 2], [EDIT, READ]).editable == frozenset()
    assert scope_for(Role.admin, [5, 6], [NONE, NONE]).editable == {5, 6}


def test_scope_digest_names_the_set_not_its_order():
    assert scope_digest([2, 1, 2]) == scope_digest({1, 2})
    assert scope_digest([1]) != scope_digest([1, 2]) != scope_digest([])


def test_keys_parse_back_and_match_only_their_own_secret():
    key = new_key()
    prefix, secret = parse_key(key.token)
    assert prefix == key.prefix and secret == key.secret and len(prefix) == 8
    assert secret_matches(secret, secret_hash(key.secret))
    assert not secret_matches(secret + "x", secret_hash(key.secret))
    assert new_key().token != key.token


@pytest.mark.parametrize("token", ["", "tsa", "tsa_short_secret", "sk_abcdefgh_secret", "tsa_abcdefgh_",
                                   "Bearer tsa_abcdefgh_x"])
def test_malformed_keys_are_not_keys(token):
    assert parse_key(token) is None


def test_csrf_tokens_must_be_present_and_equal():
    assert csrf_matches("abc", "abc")
    assert not csrf_matches(None, "abc") and not csrf_matches("abc", None) and not csrf_matches("abd", "abc")


@pytest.mark.parametrize(("wait_s", "header"), [(0.001, 1), (1.0, 1), (1.2, 2), (59.5, 60)])
def test_retry_after_is_whole_seconds_never_zero(wait_s, header):
    assert retry_after_header(wait_s) == header


@pytest.mark.parametrize("body", [
    {"query": "seal\x00kit"},
    {"query": "seal", "model": "smollm2\x00"},
    {"query": "seal", "temperature": False},
    {"query": "seal", "max_tokens": "5"},
    {"query": "seal", "stream": "true"},
    {"query": 5},
])
def test_chat_requests_refuse_nul_characters_and_coerced_types(body):
    with pytest.raises(ValidationError):
        RagChatRequest.model_validate(body)


def test_chat_requests_take_integers_as_temperatures():
    assert RagChatRequest.model_validate({"query": "seal", "temperature": 0}).temperature == 0.0


@pytest.mark.parametrize("body", [{"query": "seal", "k": "5"}, {"query": "a\x00b"}, {"query": "seal", "k": 5.0}])
def test_search_requests_are_strict(body):
    with pytest.raises(ValidationError):
        SearchRequest.model_validate(body)


@pytest.mark.parametrize("body", [
    {"url": "http://gpu1:11434", "name": "a/b"},
    {"url": "http://gpu1:11434", "name": "line\nbreak"},
    {"url": "http://gpu1:11434/api", "name": "x"},  # a base URL, not an endpoint
    {"url": "ftp://gpu1", "name": "x"},
])
def test_instance_names_and_urls_are_validated(body):
    with pytest.raises(ValidationError):
        InstanceRequest.model_validate(body)


def test_user_names_are_label_safe_and_passwords_long():
    assert UserCreate.model_validate({"username": "tech.one@site-3", "role": "editor"}).role == "editor"
    for body in ({"username": "two words"}, {"username": "x" * 65}, {"username": "ok", "password": "short"},
                 {"username": "ok", "role": "root"}):
        with pytest.raises(ValidationError):
            UserCreate.model_validate(body)


def test_key_expiry_reads_an_iso_time_but_the_owner_stays_strict():
    assert KeyCreate.model_validate({"name": "ci", "expires_at": "2030-01-01T00:00:00Z"}).expires_at.year == 2030
    with pytest.raises(ValidationError):
        KeyCreate.model_validate({"name": "ci", "user_id": "3"})


def _entry(access: str = "7", expires_at=None):
    from tsa.access import Generations, Lookup, Principal, Scope

    principal = Principal(1, "ana", Role.viewer, Scope(frozenset({1}), frozenset()), "key", key_id=2)
    return Lookup(principal, Generations("s:1", access), expires_at)


def test_a_remembered_caller_is_valid_only_while_access_is_unchanged_and_unexpired():
    import datetime as dt

    from tsa.access import still_valid

    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    assert still_valid(_entry("7"), "7", now)
    assert not still_valid(_entry("7"), "8", now)  # anything about access changed
    assert not still_valid(_entry("7", now - dt.timedelta(seconds=1)), "7", now)  # the key or session expired
    assert still_valid(_entry("7", now + dt.timedelta(hours=1)), "7", now)


def test_the_principal_cache_forgets_the_least_recently_used_and_keys_on_digests():
    from tsa.access import PrincipalCache, credential_digest

    cache = PrincipalCache(max_entries=2)
    first, second, third = (credential_digest("key", t) for t in ("a", "b", "c"))
    assert credential_digest("key", "a") != credential_digest("session", "a") and len(first) == 32
    cache.put(first, _entry())
    cache.put(second, _entry())
    assert cache.get(first) is not None  # now the most recently used
    cache.put(third, _entry())
    assert cache.get(second) is None and cache.get(first) is not None and len(cache) == 2
    cache.drop(first)
    assert cache.get(first) is None


@pytest.mark.parametrize(("per_minute", "burst", "lease"), [
    (1, 3, 1),  # slow buckets: every request asks Redis
    (1200, 200, 5),  # a quarter of a second at 20 requests per second
    (1e9, 10**6, 20),  # capped
    (1e9, 8, 2),  # never more than a quarter of the burst
])
def test_lease_sizes_keep_replicas_close_to_the_shared_limit(per_minute, burst, lease):
    from tsa.access import Bucket
    from tsa.access.ratelimit import lease_size

    assert lease_size([Bucket("user:1", per_minute, burst)]) == lease
    assert lease_size([Bucket("user:1", 1e9, 10**6), Bucket("key:1", per_minute, burst)]) == lease


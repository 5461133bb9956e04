"""Access control end to end: real PostgreSQL, Redis and engine processes behind a real socket."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from tests.integration.conftest import client_as, metric_value, new_user, wait_until_processed

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MANUAL_A = b"# Pump PA-1\n\n## Torque\n\nThe casing bolts of pump PA-1 need 25 N m. Team A only.\n"
MANUAL_B = b"# Pump PB-2\n\n## Torque\n\nThe casing bolts of pump PB-2 need 90 N m. Team B only.\n"


async def upload(client: httpx.AsyncClient, name: str, content: bytes, collection: str = "default") -> str:
    response = await client.post("/api/documents", files={"file": (name, content)}, data={"collection": collection})
    assert response.status_code == 202, response.text
    document = await wait_until_processed(client, response.json()["document_id"])
    assert document["status"] == "ready", document
    return document["id"]


async def sse(response: httpx.Response) -> dict[str, list[dict]]:
    events: dict[str, list[dict]] = {}
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.setdefault(lines["event"], []).append(json.loads(lines["data"]))
    return events


@pytest.fixture
async def two_teams(bench_settings, service_for):
    """Alice edits team-a, Bob edits team-b; each team has one manual; nobody else may read them."""
    async with service_for(bench_settings) as (container, admin):
        alice = await new_user(container, "editor", {"team-a": "edit"}, username=f"alice-{uuid.uuid4().hex[:4]}")
        bob = await new_user(container, "editor", {"team-b": "edit"}, username=f"bob-{uuid.uuid4().hex[:4]}")
        async with client_as(admin, alice["headers"]) as as_alice, client_as(admin, bob["headers"]) as as_bob:
            alice["client"], bob["client"] = as_alice, as_bob
            alice["document"] = await upload(as_alice, "pa1.md", MANUAL_A, "team-a")
            bob["document"] = await upload(as_bob, "pb2.md", MANUAL_B, "team-b")
            yield container, admin, alice, bob


async def test_two_teams_never_see_each_others_documents_cached_or_not(two_teams):
    _, _, alice, bob = two_teams
    for first, second in ((alice, bob), (bob, alice)):
        question = f"What torque do the casing bolts need? {uuid.uuid4().hex[:6]}"
        for cache in ("default", "default", "no-cache"):  # miss, hit, bypass
            for user in (first, second):
                body = {"query": question, "max_tokens": 8, "cache": cache}
                answered = (await user["client"].post("/api/rag-chat", json=body)).json()
                assert {s["document_id"] for s in answered["sources"]} == {user["document"]}, (user["username"], cache)
                streamed = await sse(await user["client"].post("/api/rag-chat", json={**body, "stream": True}))
                assert {s["document_id"] for s in streamed["sources"][0]["sources"]} == {user["document"]}
                assert {s["document_id"] for s in streamed["done"][0]["sources"]} == {user["document"]}
                found = (await user["client"].post("/api/search", json={"query": question, "k": 10,
                                                                          "cache": cache})).json()
                assert {r["document_id"] for r in found["results"]} == {user["document"]}
        again = (await second["client"].post("/api/rag-chat", json={"query": question, "max_tokens": 8})).json()
        assert again["cached"]["inference"] is True, "each team's answer is cached under its own scope"


async def test_documents_outside_the_scope_do_not_exist_for_the_caller(two_teams):
    _, admin, alice, bob = two_teams
    as_alice = alice["client"]
    listed = (await as_alice.get("/api/documents")).json()["documents"]
    assert [d["id"] for d in listed] == [alice["document"]]
    for response in (await as_alice.get(f"/api/documents/{bob['document']}"),
                     await as_alice.delete(f"/api/documents/{bob['document']}"),
                     await as_alice.get(f"/api/documents/{uuid.uuid4()}")):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    refused = await as_alice.post("/api/documents", files={"file": ("x.md", b"# X\n\ntext")},
                                  data={"collection": "team-b"})
    assert refused.status_code == 404, "a collection one cannot read looks like no collection"
    assert (await admin.get(f"/api/documents/{bob['document']}")).status_code == 200


async def test_a_reader_may_not_change_a_collection(two_teams):
    container, _, alice, _ = two_teams
    reader = await new_user(container, "editor", {"team-a": "read"})
    async with client_as(alice["client"], reader["headers"]) as as_reader:
        assert (await as_reader.get(f"/api/documents/{alice['document']}")).status_code == 200
        assert (await as_reader.delete(f"/api/documents/{alice['document']}")).status_code == 403
        upload_refused = await as_reader.post("/api/documents", files={"file": ("x.md", b"# X\n\ntext")},
                                              data={"collection": "team-a"})
        assert upload_refused.status_code == 403
    assert (await alice["client"].delete(f"/api/documents/{alice['document']}")).status_code == 204


async def test_removing_a_grant_takes_effect_on_the_next_request_even_for_a_cached_answer(two_teams):
    container, admin, alice, _ = two_teams
    carol = await new_user(container, "viewer", {"team-a": "read"})
    team_a = await container.access.collections.id_of("team-a")
    question = {"query": f"What torque do the casing bolts need? {uuid.uuid4().hex[:6]}", "max_tokens": 8}
    async with client_as(admin, carol["headers"]) as as_carol:
        first = (await as_carol.post("/api/rag-chat", json=question)).json()
        assert {s["document_id"] for s in first["sources"]} == {alice["document"]}
        assert (await as_carol.post("/api/rag-chat", json=question)).json()["cached"]["inference"] is True
        revoked = await admin.delete(f"/api/collections/{team_a}/grants/users/{carol['id']}")
        assert revoked.status_code == 204
        after = (await as_carol.post("/api/rag-chat", json=question)).json()
        assert after["sources"] == [] and after["cached"]["inference"] is False
        assert (await as_carol.get(f"/api/documents/{alice['document']}")).status_code == 404
        granted = await admin.put(f"/api/collections/{team_a}/grants/users/{carol['id']}", json={"permission": "read"})
        assert granted.status_code == 204
        restored = (await as_carol.post("/api/rag-chat", json=question)).json()
        assert restored["cached"]["inference"] is True and restored["answer"] == first["answer"]


async def test_group_grants_and_everyone_access(two_teams):
    container, admin, alice, _ = two_teams
    dave = await new_user(container, "viewer")
    team_a = await container.access.collections.id_of("team-a")
    async with client_as(admin, dave["headers"]) as as_dave:
        assert (await as_dave.get(f"/api/documents/{alice['document']}")).status_code == 404
        group = (await admin.post("/api/groups", json={"name": f"field-{uuid.uuid4().hex[:4]}"})).json()
        assert (await admin.put(f"/api/groups/{group['id']}/members/{dave['id']}")).status_code == 204
        assert (await admin.put(f"/api/collections/{team_a}/grants/groups/{group['id']}",
                                json={"permission": "read"})).status_code == 204
        assert (await as_dave.get(f"/api/documents/{alice['document']}")).status_code == 200
        assert (await admin.delete(f"/api/groups/{group['id']}/members/{dave['id']}")).status_code == 204
        assert (await as_dave.get(f"/api/documents/{alice['document']}")).status_code == 404
        opened = await admin.patch(f"/api/collections/{team_a}", json={"everyone": "read"})
        assert opened.status_code == 200 and opened.json()["everyone"] == "read"
        visible = (await as_dave.get("/api/collections")).json()["collections"]
        assert {c["name"] for c in visible} == {"default", "team-a"} and not any(c["may_edit"] for c in visible)


async def test_a_revoked_key_is_refused_on_the_next_request(two_teams):
    container, admin, _, _ = two_teams
    erin = await new_user(container, "viewer")
    async with client_as(admin, erin["headers"]) as as_erin:
        assert (await as_erin.get("/api/auth/me")).json()["username"] == erin["username"]
        own = (await as_erin.get("/api/keys")).json()["keys"]
        assert len(own) == 1 and "token" not in own[0] and "secret_hash" not in own[0]
        assert (await as_erin.delete(f"/api/keys/{own[0]['id']}")).status_code == 200
        refused = await as_erin.get("/api/auth/me")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == 'Bearer realm="tsa"'
        assert refused.json()["error"]["code"] == "unauthorized"
    created = (await admin.post("/api/keys", json={"name": "expired", "user_id": erin["id"],
                                                   "expires_at": "2020-01-01T00:00:00Z"})).json()
    assert created["token"].startswith("tsa_") and created["prefix"] in created["token"]
    async with client_as(admin, {"X-API-Key": created["token"]}) as expired:
        assert (await expired.get("/api/auth/me")).status_code == 401


async def test_a_change_on_one_replica_takes_effect_on_the_next_request_to_another(bench_settings, service_for):
    """Replicas remember callers in memory; the access generation in PostgreSQL keeps them honest."""
    async with service_for(bench_settings) as (container, first), service_for(bench_settings) as (_, second):
        user = await new_user(container, "viewer", {"team-x": "read"})
        team_x = await container.access.collections.id_of("team-x")
        async with client_as(second, user["headers"]) as on_second:
            assert team_x in (await on_second.get("/api/auth/me")).json()["collections"]["readable"]
            assert (await first.delete(f"/api/collections/{team_x}/grants/users/{user['id']}")).status_code == 204
            assert team_x not in (await on_second.get("/api/auth/me")).json()["collections"]["readable"]
            key_id = (await first.get("/api/keys", params={"all_users": "true"})).json()["keys"][-1]["id"]
            assert (await first.delete(f"/api/keys/{key_id}")).status_code == 200
            assert (await on_second.get("/api/auth/me")).status_code == 401


async def test_every_kind_of_access_change_advances_the_access_generation(bench_settings, service_for):
    async with service_for(bench_settings) as (container, admin):
        async def generation() -> int:
            return int((await container.access.principals.generations()).access)

        user = (await admin.post("/api/users", json={"username": f"gen-{uuid.uuid4().hex[:4]}"})).json()
        changes = [
            ("PATCH", f"/api/users/{user['id']}", {"role": "editor"}),
            ("POST", "/api/collections", {"name": f"gen-{uuid.uuid4().hex[:4]}"}),
            ("PUT", f"/api/collections/1/grants/users/{user['id']}", {"permission": "edit"}),
            ("DELETE", f"/api/collections/1/grants/users/{user['id']}", None),
            ("PATCH", "/api/collections/1", {"everyone": "read"}),
        ]
        group = (await admin.post("/api/groups", json={"name": f"gen-{uuid.uuid4().hex[:4]}"})).json()
        changes += [("PUT", f"/api/groups/{group['id']}/members/{user['id']}", None),
                    ("DELETE", f"/api/groups/{group['id']}/members/{user['id']}", None)]
        key = (await admin.post("/api/keys", json={"name": "gen", "user_id": user["id"]})).json()
        changes += [("DELETE", f"/api/keys/{key['id']}", None), ("DELETE", f"/api/users/{user['id']}", None)]
        for method, path, body in changes:
            before = await generation()
            response = await admin.request(method, path, json=body)
            assert response.status_code < 300, (method, path, response.text)
            assert await generation() > before, (method, path)
        before = await generation()
        await admin.get("/api/documents")  # using a key (and noting its last use) changes nothing
        assert await generation() == before


async def test_keys_of_others_are_out_of_reach_for_non_admins(two_teams):
    _, admin, alice, bob = two_teams
    bobs_key = (await bob["client"].get("/api/keys")).json()["keys"][0]
    assert (await alice["client"].delete(f"/api/keys/{bobs_key['id']}")).status_code == 404
    assert (await alice["client"].post("/api/keys", json={"name": "x", "user_id": bob["id"]})).status_code == 403
    assert (await alice["client"].get("/api/keys", params={"all_users": "true"})).status_code == 403
    assert len((await admin.get("/api/keys", params={"all_users": "true"})).json()["keys"]) >= 3


async def test_bad_credentials_get_401_and_say_nothing_about_the_account(two_teams):
    _, admin, _, _ = two_teams
    token = (await admin.get("/api/keys")).json()["keys"][0]
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic YWRtaW46eA=="},
                    {"X-API-Key": f"tsa_{token['prefix']}_wrongsecret"}):
        async with client_as(admin, headers) as client:
            response = await client.get("/api/documents")
        assert response.status_code == 401 and "www-authenticate" in response.headers, headers


async def test_browser_sessions_need_the_csrf_token_for_writes(bench_settings, service_for):
    async with service_for(bench_settings) as (container, admin):
        created = await admin.post("/api/users", json={"username": "frank", "role": "editor",
                                                       "password": "correct horse battery"})
        assert created.status_code == 201 and "correct horse" not in created.text and "argon2" not in created.text
        default = await container.access.collections.id_of("default")
        await admin.put(f"/api/collections/{default}/grants/users/{created.json()['id']}", json={"permission": "edit"})
        async with client_as(admin, {}) as browser:
            wrong = await browser.post("/api/auth/login", json={"username": "frank", "password": "nope nope nope"})
            unknown = await browser.post("/api/auth/login", json={"username": "ghost", "password": "nope nope nope"})
            assert wrong.status_code == unknown.status_code == 401
            assert wrong.json() == unknown.json(), "the message never tells whether the user exists"
            signed_in = await browser.post("/api/auth/login", json={"username": "Frank",
                                                                      "password": "correct horse battery"})
            assert signed_in.status_code == 200
            cookie = signed_in.headers.get_list("set-cookie")
            assert any(c.startswith("tsa_session=") and "HttpOnly" in c and "SameSite=lax" in c for c in cookie)
            csrf = signed_in.json()["csrf_token"]
            assert (await browser.get("/api/auth/me")).json()["via"] == "session"
            no_token = await browser.post("/api/documents", files={"file": ("a.md", b"# A\n\ntext")})
            assert no_token.status_code == 403 and "x-csrf-token" in no_token.json()["error"]["message"]
            with_token = await browser.post("/api/documents", files={"file": ("a.md", b"# A\n\ntext")},
                                            headers={"X-CSRF-Token": csrf})
            assert with_token.status_code == 202
            assert (await browser.post("/api/auth/logout")).status_code == 204
            assert (await browser.get("/api/auth/me")).status_code == 401
        entries = (await admin.get("/api/audit", params={"action": "auth."})).json()["entries"]
        assert [e["action"] for e in entries][:3] == ["auth.login", "auth.login_failed", "auth.login_failed"]
        assert entries[1]["actor"] == "ghost" and entries[0]["address"] == "127.0.0.1"


async def test_login_attempts_are_throttled_per_account(bench_settings, service_for):
    bench_settings.login_attempts_per_minute = 2
    async with service_for(bench_settings) as (_, admin), client_as(admin, {}) as browser:
        attempts = [await browser.post("/api/auth/login", json={"username": "grace", "password": "x" * 12})
                    for _ in range(3)]
        assert [a.status_code for a in attempts] == [401, 401, 429]
        assert int(attempts[2].headers["retry-after"]) >= 1


async def test_rate_limits_answer_429_with_retry_after_and_count_it(bench_settings, service_for):
    bench_settings.rate_limit_burst, bench_settings.rate_limit_key_per_minute = 3, 1
    async with service_for(bench_settings) as (container, admin):
        user = await new_user(container, "viewer")
        before = await metric_value(admin, "tsa_auth_events_total", event="rate_limited")
        async with client_as(admin, user["headers"]) as client:
            statuses = [(await client.get("/api/auth/me")) for _ in range(4)]
        assert [s.status_code for s in statuses] == [200, 200, 200, 429]
        assert statuses[3].json()["error"]["code"] == "rate_limited"
        assert 1 <= int(statuses[3].headers["retry-after"]) <= 60
        assert await metric_value(admin, "tsa_auth_events_total", event="rate_limited") == before + 1


async def test_rate_limits_are_shared_by_replicas_and_leases_are_taken_from_redis(services):
    import redis.asyncio as aioredis

    from tsa.access import Bucket, RateLimiter

    redis = aioredis.from_url(services.redis_url)
    try:
        name = f"user:{uuid.uuid4().hex}"
        strict = [Bucket(name, 1, 4)]  # a lease of one: every request asks Redis
        replicas = [RateLimiter(redis), RateLimiter(redis)]
        verdicts = [await replicas[n % 2].wait_s(strict) for n in range(6)]
        assert [v == 0 for v in verdicts] == [True] * 4 + [False] * 2, "four tokens in all, not four each"
        busy = [Bucket(f"user:{uuid.uuid4().hex}", 6000, 40)]  # 100/s: leases of 10
        limiter = RateLimiter(redis)
        assert await limiter.wait_s(busy) == 0
        left = float(await redis.hget(f"tsa:v1:ratelimit:{busy[0].name}", "v"))
        assert 30 <= left < 31, "one call took a lease of ten tokens"
        for _ in range(9):  # spent locally, without asking Redis
            assert await limiter.wait_s(busy) == 0
        assert float(await redis.hget(f"tsa:v1:ratelimit:{busy[0].name}", "v")) == left
    finally:
        await redis.aclose()


async def test_callers_arriving_together_share_one_lease_instead_of_draining_the_bucket(services):
    import redis.asyncio as aioredis

    from tsa.access import Bucket, RateLimiter

    redis = aioredis.from_url(services.redis_url)
    try:
        busy = [Bucket(f"user:{uuid.uuid4().hex}", 6000, 40)]  # 100/s: leases of 10
        limiter = RateLimiter(redis)
        verdicts = await asyncio.gather(*(limiter.wait_s(busy) for _ in range(12)))
        assert verdicts == [0.0] * 12, "a lease per caller would have emptied the bucket of 40 by the fifth"
        left = float(await redis.hget(f"tsa:v1:ratelimit:{busy[0].name}", "v"))
        assert 20 <= left < 22, "two leases of ten taken, not one per caller"
    finally:
        await redis.aclose()


@pytest.mark.timeout(30)  # the defect this guards against spun without ever yielding
async def test_a_caller_arriving_as_a_refill_ends_starts_its_own(services):
    import redis.asyncio as aioredis

    from tsa.access import Bucket, RateLimiter

    redis = aioredis.from_url(services.redis_url)
    try:
        slow = [Bucket(f"user:{uuid.uuid4().hex}", 60, 100)]  # a lease of one token
        limiter = RateLimiter(redis)
        script, arrivals = limiter._script, []

        async def arriving_as_it_ends(**kwargs):
            answer = await script(**kwargs)
            if not arrivals:  # two callers queued to run just after this refill ends: the first takes its token
                arrivals.extend(asyncio.ensure_future(limiter.wait_s(slow)) for _ in range(2))
            return answer

        limiter._script = arriving_as_it_ends
        verdicts = [await limiter.wait_s(slow), *(await asyncio.gather(*arrivals))]
        assert verdicts == [0.0, 0.0, 0.0]
        left = float(await redis.hget(f"tsa:v1:ratelimit:{slow[0].name}", "v"))
        assert 97 <= left < 98, "three leases of one token"
    finally:
        await redis.aclose()


async def test_rate_limits_fail_open_when_redis_is_away():
    import redis.asyncio as aioredis

    from tsa import metrics
    from tsa.access import Bucket, RateLimiter
    from tsa.runtime.children import free_port

    dead = aioredis.from_url(f"redis://127.0.0.1:{free_port()}", socket_timeout=0.2, socket_connect_timeout=0.2)
    limiter = RateLimiter(dead)
    before = metrics.RATE_LIMIT_BYPASSES._value.get()
    assert await limiter.wait_s([Bucket("user:1", 1, 1)]) == 0.0
    assert await limiter.wait_s([Bucket("user:1", 1, 1)]) == 0.0  # within the breaker: not even tried
    assert metrics.RATE_LIMIT_BYPASSES._value.get() == before + 2
    await dead.aclose()


async def test_the_audit_log_records_changes_filters_them_and_is_for_admins(two_teams):
    container, admin, alice, _ = two_teams
    everything = (await admin.get("/api/audit", params={"limit": 1000})).json()
    actions = [e["action"] for e in everything["entries"]]
    assert {"document.upload"} <= set(actions) and everything["retention_days"] == 365
    uploads = (await admin.get("/api/audit", params={"action": "document.", "actor": alice["username"]})).json()
    assert [(e["action"], e["detail"]["collection"]) for e in uploads["entries"]] == [("document.upload", "team-a")]
    assert (await alice["client"].get("/api/audit")).status_code == 403
    await container.pool.execute("INSERT INTO audit_log (at, action) VALUES (now() - interval '400 days', 'old')")
    assert await container.access.audit.prune(365) == 1


async def test_replacing_and_deleting_documents_is_audited(two_teams):
    _, admin, alice, _ = two_teams
    await upload(alice["client"], "pa1.md", MANUAL_A + b"\nRevised.\n", "team-a")
    documents = (await alice["client"].get("/api/documents")).json()["documents"]
    assert len(documents) == 1
    assert (await alice["client"].delete(f"/api/documents/{documents[0]['id']}")).status_code == 204
    actions = [e["action"] for e in (await admin.get("/api/audit", params={"action": "document."})).json()["entries"]]
    assert actions[:2] == ["document.delete", "document.replace"]


async def test_an_answer_from_a_removed_instance_is_not_served_from_the_cache(bench_settings, service_for, engines):
    second = (await engines(1, "--bench-embed-ms", "2", "--bench-token-ms", "5"))[0]
    bench_settings.ollama_instances = [*bench_settings.ollama_instances, second.url]
    async with service_for(bench_settings) as (_, admin):
        await upload(admin, "pa1.md", MANUAL_A)
        question = {"query": f"casing bolt torque {uuid.uuid4().hex[:6]}", "max_tokens": 8}
        first = (await admin.post("/api/rag-chat", json=question)).json()
        assert (await admin.post("/api/rag-chat", json=question)).json()["cached"]["inference"] is True
        removed = await admin.delete(f"/api/fleet/instances/{first['instance']}")
        assert removed.status_code == 202 and removed.json()["answers_forgotten"] == 1
        after = (await admin.post("/api/rag-chat", json=question)).json()
        assert after["cached"]["inference"] is False and after["instance"] != first["instance"]


async def test_forget_answers_drops_what_an_instance_generated(bench_settings, service_for):
    async with service_for(bench_settings) as (_, admin):
        await upload(admin, "pa1.md", MANUAL_A)
        question = {"query": f"casing bolt torque {uuid.uuid4().hex[:6]}", "max_tokens": 8}
        first = (await admin.post("/api/rag-chat", json=question)).json()
        forgot = await admin.post(f"/api/fleet/instances/{first['instance']}/forget-answers")
        assert forgot.status_code == 200 and forgot.json()["answers_forgotten"] == 1
        assert (await admin.post("/api/rag-chat", json=question)).json()["cached"]["inference"] is False


async def test_instance_urls_and_upstream_errors_are_for_admins_only(bench_settings, service_for, bench_engine):
    async with service_for(bench_settings) as (container, admin):
        viewer = await new_user(container, "viewer")
        async with client_as(admin, viewer["headers"]) as as_viewer:
            for path in ("/api/load-balancer-stats", "/api/ollama-health"):
                shown = (await as_viewer.get(path)).text
                assert bench_engine.url not in shown and str(bench_engine.port) in (await admin.get(path)).text
            bench_engine.kill()
            failed = await as_viewer.post("/api/search", json={"query": "x", "cache": "no-cache"})
            assert failed.status_code == 503 and str(bench_engine.port) not in failed.text
            assert failed.json()["error"]["message"] == "no language model server could take the request right now"


async def test_ollama_compatible_routes_need_a_key(bench_settings, service_for):
    async with service_for(bench_settings) as (container, admin):
        viewer = await new_user(container, "viewer")
        async with client_as(admin, {}) as anonymous, client_as(admin, viewer["headers"]) as as_viewer:
            for method, path, body in (("POST", "/api/chat", {"model": "bench-chat", "messages": []}),
                                       ("POST", "/api/embed", {"model": "bench-embed", "input": "x"}),
                                       ("GET", "/api/tags", None), ("GET", "/api/version", None)):
                assert (await anonymous.request(method, path, json=body)).status_code == 401, path
                assert (await as_viewer.request(method, path, json=body)).status_code == 200, path


@pytest.mark.parametrize(("path", "body"), [
    ("/api/rag-chat", {"query": "seal\x00kit"}),
    ("/api/search", {"query": "seal\x00kit"}),
    ("/api/search", {"query": "seal", "k": "5"}),
    ("/api/rag-chat", {"query": "seal", "temperature": False}),
    ("/api/rag-chat", {"query": "seal", "stream": "yes"}),
])
async def test_nul_characters_and_coerced_types_are_422(bench_settings, api_for, path, body):
    async with api_for(bench_settings) as api:
        response = await api.post(path, json=body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"


async def test_a_nul_in_a_file_name_is_refused(bench_settings, api_for):
    # Written by hand: HTTP clients escape a NUL in a file name, a hostile client need not.
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="bad\x00name.md"\r\n'
            b"Content-Type: text/markdown\r\n\r\n# A\n\ntext\r\n--b--\r\n")
    async with api_for(bench_settings) as api:
        response = await api.post("/api/documents", content=body,
                                  headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"
        assert "NUL" in response.json()["error"]["message"]
        assert (await api.get("/api/documents")).json()["documents"] == []


async def test_a_chunked_upload_over_the_limit_is_cut_off(bench_settings, service_for):
    """The 413 comes while the client is still sending: the server stopped reading at the limit."""
    bench_settings.max_upload_bytes = 64 * 1024
    async with service_for(bench_settings) as (_, admin):
        reader, writer = await asyncio.open_connection(admin.base_url.host, admin.base_url.port)
        head = (f"POST /api/documents HTTP/1.1\r\nHost: tsa\r\nAuthorization: {admin.headers['authorization']}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n")
        part = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
                b"Content-Type: text/plain\r\n\r\n")
        writer.write(head.encode() + b"%x\r\n%s\r\n" % (len(part), part))
        chunk = b"a" * 16 * 1024
        for _ in range(16):  # 256 KiB of the 64 MiB this client claims to send, and no end of body
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        writer.close()
        assert status_line.startswith(b"HTTP/1.1 413"), status_line
        assert (await admin.get("/api/documents")).json()["documents"] == []

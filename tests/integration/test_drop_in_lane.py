"""The drop-in lane: a known caller's calls to the fleet's models cost no query, and access stays exact.

Real PostgreSQL (its announcements included), Redis and bench engines, behind a real socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.integration.conftest import client_as, eventually_metric, metric_value, new_user

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Which seal kit fits the PA-1?"}]
CALLS = [
    ("/api/chat", {"model": "bench-chat", "messages": MESSAGES, "stream": False, "options": {"num_predict": 2}}),
    ("/api/generate", {"model": "bench-chat", "prompt": "Name a colour.", "stream": False,
                       "options": {"num_predict": 2}}),
    ("/api/embed", {"model": "bench-embed", "input": ["seal kit"]}),
    ("/api/embeddings", {"model": "bench-embed", "prompt": "seal kit"}),
    ("/v1/chat/completions", {"model": "bench-chat", "messages": MESSAGES, "max_tokens": 2}),
    ("/v1/completions", {"model": "bench-chat", "prompt": "Name a colour.", "max_tokens": 2}),
    ("/v1/embeddings", {"model": "bench-embed", "input": "seal kit"}),
]
CHAT = CALLS[0]


async def until(condition: Callable[[], bool], step: Callable[[], Awaitable[object]], tries: int = 100) -> None:
    """Take ``step`` until ``condition`` holds (a request, say, until the replica has learned something)."""
    for _ in range(tries):
        if condition():
            return
        await step()
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def known_to_the_lane(container, caller: httpx.AsyncClient) -> None:
    """Call until the replica knows the access generation (its first call goes through the full gate)."""
    await until(lambda: container.access.watch.current() is not None, lambda: caller.post(CHAT[0], json=CHAT[1]))
    assert (await caller.post(CHAT[0], json=CHAT[1])).status_code == 200


async def test_a_known_caller_is_served_without_a_query(bench_settings, service_for, monkeypatch):
    async with service_for(bench_settings) as (container, admin):
        viewer = await new_user(container, "viewer")
        async with client_as(admin, viewer["headers"]) as as_viewer:
            await known_to_the_lane(container, as_viewer)
            # /api/generate, which getting known did not call: a request is counted once its answer is sent.
            before = await metric_value(admin, "tsa_http_requests_total", route="/api/generate", method="POST",
                                        status="200")

            async def no_query() -> None:
                raise AssertionError("the generations were read")

            monkeypatch.setattr(container.access.principals, "generations", no_query)
            for path, body in CALLS:
                response = await as_viewer.post(path, json=body)
                assert response.status_code == 200, (path, response.text)
            # The manuals model's answers depend on the corpus generation: those take the app's way.
            manuals = await as_viewer.post("/api/chat", json={**CHAT[1], "model": "tsa"})
            assert manuals.status_code == 500
            monkeypatch.undo()
            # Counted under the route's own path, as the app would have (just after the answer: wait for it).
            await eventually_metric(admin, before + 1, "tsa_http_requests_total", route="/api/generate", method="POST",
                                    status="200")


async def test_a_key_revoked_here_is_refused_at_once_even_before_the_announcement(bench_settings, service_for,
                                                                                  monkeypatch):
    async with service_for(bench_settings) as (container, admin):
        viewer = await new_user(container, "viewer")
        async with client_as(admin, viewer["headers"]) as as_viewer:
            await known_to_the_lane(container, as_viewer)
            # Announcements are late by nature; this replica must not need them for its own writes.
            monkeypatch.setattr(container.access.watch, "announced", lambda value: None)
            key = (await as_viewer.get("/api/keys")).json()["keys"][0]
            assert (await as_viewer.delete(f"/api/keys/{key['id']}")).status_code == 200
            for path, body in CALLS:
                refused = await as_viewer.post(path, json=body)
                assert refused.status_code == 401, (path, refused.text)


async def test_a_key_revoked_on_another_replica_is_refused_once_announced(bench_settings, service_for):
    async with service_for(bench_settings) as (container, first), service_for(bench_settings) as (other, second):
        viewer = await new_user(container, "viewer")
        async with client_as(second, viewer["headers"]) as on_second:
            await known_to_the_lane(other, on_second)
            key_id = (await first.get("/api/keys", params={"all_users": "true"})).json()["keys"][-1]["id"]
            assert (await first.delete(f"/api/keys/{key_id}")).status_code == 200
            statuses: list[int] = []
            await until(lambda: statuses[-1:] == [401],
                        lambda: _status_into(statuses, on_second.post(CHAT[0], json=CHAT[1])))
            assert set(statuses) <= {200, 401}


async def _status_into(statuses: list[int], call: Awaitable[httpx.Response]) -> None:
    statuses.append((await call).status_code)


async def test_a_lost_announcement_connection_falls_back_to_queries_and_comes_back(bench_settings, service_for):
    async with service_for(bench_settings) as (container, admin):
        viewer = await new_user(container, "viewer")
        async with client_as(admin, viewer["headers"]) as as_viewer:
            await known_to_the_lane(container, as_viewer)
            ended = await container.pool.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN %tsa_access%'")
            assert ended == 1
            await until(lambda: container.access.watch.current() is None, lambda: asyncio.sleep(0.05), tries=200)
            assert await metric_value(admin, "tsa_access_announcements_up") == 0
            assert (await as_viewer.post(CHAT[0], json=CHAT[1])).status_code == 200  # by the full gate
            await known_to_the_lane(container, as_viewer)  # listening again, and known again
            assert await metric_value(admin, "tsa_access_announcements_up") == 1

"""Every route × role × credentials, generated from the application's own route table.

A route without a gate, or without an example request below, fails the first test: a new
route must say who may call it before it ships.
"""

from __future__ import annotations

import uuid

import pytest

from tests.integration.conftest import client_as, new_user, wait_until_processed
from tsa.access import Role
from tsa.api import create_app
from tsa.api.auth import Gate, api_routes, route_gate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOBODY = uuid.UUID(int=1)
# (method, route template) → (path to call, request keyword arguments). Targets that do not exist,
# so that a permitted call changes nothing (it answers 404 or 409 instead of 401/403).
EXAMPLES: dict[tuple[str, str], tuple[str, dict]] = {
    ("POST", "/api/rag-chat"): ("/api/rag-chat", {"json": {"query": "casing bolt torque", "max_tokens": 4}}),
    ("POST", "/api/search"): ("/api/search", {"json": {"query": "casing bolt torque"}}),
    ("GET", "/api/conversations"): ("/api/conversations", {}),
    ("POST", "/api/feedback"): ("/api/feedback", {"json": {"answer_id": str(NOBODY), "rating": "up"}}),
    ("GET", "/api/feedback"): ("/api/feedback", {}),
    ("PATCH", "/api/feedback/{feedback_id}"): ("/api/feedback/999999", {"json": {"reviewed": True}}),
    ("GET", "/api/conversations/{conversation_id}"): ("/api/conversations/nobody-s", {}),
    ("DELETE", "/api/conversations/{conversation_id}"): ("/api/conversations/nobody-s", {}),
    ("POST", "/api/documents"): ("/api/documents", {"files": {"file": ("m.md", b"# M\n\nmatrix text")},
                                                    "data": {"collection": "no-such-collection"}}),
    ("POST", "/api/imports"): ("/api/imports", {"files": [("files", ("m.md", b"# M\n\nmatrix"))],
                                                                "data": {"collection": "no-such-collection"}}),
    ("GET", "/api/documents"): ("/api/documents", {}),
    ("GET", "/api/documents/{document_id}/events"): (f"/api/documents/{NOBODY}/events", {}),
    ("POST", "/api/documents/{document_id}/reparse"): (f"/api/documents/{NOBODY}/reparse", {}),
    ("POST", "/api/admin/reparse"): ("/api/admin/reparse", {}),  # nothing is live yet: queues nothing
    ("GET", "/api/documents/{document_id}"): (f"/api/documents/{NOBODY}", {}),
    ("GET", "/api/documents/{document_id}/file"): (f"/api/documents/{NOBODY}/file", {}),
    ("GET", "/api/chunks/{chunk_id}/section"): ("/api/chunks/999999/section", {}),
    ("GET", "/"): ("/", {"headers": {"Accept": "text/html"}}),
    ("GET", "/assets/{digest}/{name:path}"): ("/assets/0/app.css", {}),
    ("DELETE", "/api/documents/{document_id}"): (f"/api/documents/{NOBODY}", {}),
    ("POST", "/api/auth/login"): ("/api/auth/login", {"json": {"username": "nobody", "password": ""}}),  # 422
    ("POST", "/api/auth/logout"): ("/api/auth/logout", {}),
    ("GET", "/api/auth/me"): ("/api/auth/me", {}),
    ("GET", "/api/users"): ("/api/users", {}),
    ("POST", "/api/users"): ("/api/users", {"json": {"username": "admin"}}),  # exists → 409 when allowed
    ("GET", "/api/users/{user_id}"): ("/api/users/999999", {}),
    ("PATCH", "/api/users/{user_id}"): ("/api/users/999999", {"json": {"disabled": True}}),
    ("DELETE", "/api/users/{user_id}"): ("/api/users/999999", {}),
    ("GET", "/api/keys"): ("/api/keys", {}),
    ("POST", "/api/keys"): ("/api/keys", {"json": {"name": "matrix"}}),  # a key of ones own
    ("DELETE", "/api/keys/{key_id}"): ("/api/keys/999999", {}),
    ("GET", "/api/groups"): ("/api/groups", {}),
    ("POST", "/api/groups"): ("/api/groups", {"json": {"name": "matrix-existing"}}),
    ("DELETE", "/api/groups/{group_id}"): ("/api/groups/999999", {}),
    ("PUT", "/api/groups/{group_id}/members/{user_id}"): ("/api/groups/999999/members/999999", {}),
    ("DELETE", "/api/groups/{group_id}/members/{user_id}"): ("/api/groups/999999/members/999999", {}),
    ("GET", "/api/collections"): ("/api/collections", {}),
    ("POST", "/api/collections"): ("/api/collections", {"json": {"name": "default"}}),
    ("PATCH", "/api/collections/{collection_id}"): ("/api/collections/999999", {"json": {"everyone": "read"}}),
    ("DELETE", "/api/collections/{collection_id}"): ("/api/collections/999999", {}),
    ("PUT", "/api/collections/{collection_id}/grants/users/{member_id}"): (
        "/api/collections/999999/grants/users/999999", {"json": {"permission": "read"}}),
    ("DELETE", "/api/collections/{collection_id}/grants/users/{member_id}"): (
        "/api/collections/999999/grants/users/999999", {}),
    ("PUT", "/api/collections/{collection_id}/grants/groups/{member_id}"): (
        "/api/collections/999999/grants/groups/999999", {"json": {"permission": "read"}}),
    ("DELETE", "/api/collections/{collection_id}/grants/groups/{member_id}"): (
        "/api/collections/999999/grants/groups/999999", {}),
    ("GET", "/api/audit"): ("/api/audit", {}),
    ("GET", "/api/load-balancer-stats"): ("/api/load-balancer-stats", {}),
    ("GET", "/api/fleet/instances"): ("/api/fleet/instances", {}),
    # The URL of an instance already in the fleet: 409 when allowed, so nothing is ever probed.
    ("POST", "/api/fleet/instances"): ("/api/fleet/instances", {"json": {"url": "ENGINE"}}),
    ("POST", "/api/fleet/instances/{name}/drain"): ("/api/fleet/instances/nope/drain", {}),
    ("POST", "/api/fleet/instances/{name}/undrain"): ("/api/fleet/instances/nope/undrain", {}),
    ("POST", "/api/fleet/instances/{name}/forget-answers"): ("/api/fleet/instances/nope/forget-answers", {}),
    ("DELETE", "/api/fleet/instances/{name}"): ("/api/fleet/instances/nope", {}),
    ("GET", "/api/advanced-cache-stats"): ("/api/advanced-cache-stats", {}),
    ("POST", "/api/advanced-cache-stats/reset"): ("/api/advanced-cache-stats/reset", {}),
    ("GET", "/health"): ("/health", {}),
    ("GET", "/ready"): ("/ready", {}),
    ("GET", "/api/ollama-health"): ("/api/ollama-health", {}),
    ("GET", "/metrics"): ("/metrics", {}),
    ("POST", "/api/embed"): ("/api/embed", {"json": {"model": "bench-embed", "input": "x"}}),
    ("POST", "/api/embeddings"): ("/api/embeddings", {"json": {"model": "bench-embed", "prompt": "x"}}),
    ("POST", "/api/chat"): ("/api/chat", {"json": {"model": "bench-chat", "stream": False,
                                                   "messages": [{"role": "user", "content": "hi"}]}}),
    ("POST", "/api/generate"): ("/api/generate", {"json": {"model": "bench-chat", "prompt": "hi", "stream": False,
                                                           "options": {"num_predict": 1}}}),
    ("POST", "/api/show"): ("/api/show", {"json": {"model": "bench-chat"}}),
    ("GET", "/api/ps"): ("/api/ps", {}),
    ("POST", "/api/pull"): ("/api/pull", {"json": {"model": "bench-embed", "stream": False}}),
    ("DELETE", "/api/delete"): ("/api/delete", {"json": {"model": "nope:1b"}}),  # 404 when allowed
    ("GET", "/v1/models"): ("/v1/models", {}),
    ("POST", "/v1/chat/completions"): ("/v1/chat/completions", {"json": {
        "model": "bench-chat", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}}),
    ("POST", "/v1/completions"): ("/v1/completions", {"json": {"model": "bench-chat", "prompt": "hi", "max_tokens": 1}}),
    ("POST", "/v1/embeddings"): ("/v1/embeddings", {"json": {"model": "bench-embed", "input": "x"}}),
    ("GET", "/api/tags"): ("/api/tags", {}),
    ("GET", "/api/version"): ("/api/version", {}),
}


def routes() -> list[tuple[str, str, Gate | None]]:
    return [(method, route.path, route_gate(route)) for route in api_routes(create_app().routes)
            for method in sorted(route.methods)]


def test_every_route_declares_who_may_call_it_and_has_an_example():
    table = routes()
    assert len(table) >= len(EXAMPLES) - 1
    missing_gate = [(m, p) for m, p, gate in table if gate is None]
    assert missing_gate == [], "routes without an access decision"
    missing_example = [(m, p) for m, p, _ in table if (m, p) not in EXAMPLES]
    assert missing_example == [], "routes the matrix below cannot call"
    public = sorted(p for _, p, gate in table if gate.required is None)
    # The web app's page and assets are public: the page signs in through the API.
    assert public == ["/", "/api/auth/login", "/api/auth/logout", "/assets/{digest}/{name:path}", "/health", "/metrics",
                      "/ready"]


@pytest.fixture
async def callers(settings, engines, service_for):
    engine = (await engines(1, "--bench-embed-ms", "1", "--bench-token-ms", "1"))[0]
    settings.ollama_instances = [engine.url]
    settings.embedding_model, settings.chat_model = "bench-embed", "bench-chat"
    async with service_for(settings) as (container, admin):
        await admin.post("/api/groups", json={"name": "matrix-existing"})
        clients = {"admin": admin}
        for role in ("viewer", "editor"):
            user = await new_user(container, role, {"team-own": "edit"})
            clients[role] = client_as(admin, user["headers"])
        clients["nobody"] = client_as(admin, {})
        try:
            yield container, engine, clients
        finally:
            for name in ("viewer", "editor", "nobody"):
                await clients[name].aclose()


def expected_refusal(gate: Gate, caller: str) -> int | None:
    if gate.required is None:
        return None
    if caller == "nobody":
        return 401
    return None if Role[caller] >= gate.required else 403


async def test_the_authorization_matrix(callers):
    _, engine, clients = callers
    failures = []
    for method, template, gate in routes():
        path, kwargs = EXAMPLES[(method, template)]
        if kwargs.get("json", {}).get("url") == "ENGINE":
            kwargs = {"json": {"url": engine.url}}
        for caller, client in clients.items():
            response = await client.request(method, path, **kwargs)
            refusal = expected_refusal(gate, caller)
            status = response.status_code
            ok = status == refusal if refusal else status not in (401, 403) and status < 500
            if not ok:
                failures.append(f"{method} {template} as {caller}: {status} (expected {refusal or 'allowed'})")
    assert failures == []


async def test_own_and_other_collections_per_role(callers):
    container, _, clients = callers
    other = (await container.access.collections.create("team-other"))["id"]
    own_document = await _upload(clients["admin"], "own.md", "team-own")
    other_document = await _upload(clients["admin"], "other.md", "team-other")
    assert other in (await container.access.collections.all_ids())
    for role in ("viewer", "editor"):
        client = clients[role]
        assert (await client.get(f"/api/documents/{own_document}")).status_code == 200
        assert (await client.get(f"/api/documents/{other_document}")).status_code == 404
        # Viewers are refused by their role before any document is looked at: 403 says nothing about it.
        assert (await client.delete(f"/api/documents/{other_document}")).status_code == (
            404 if role == "editor" else 403)
        listed = {d["id"] for d in (await client.get("/api/documents")).json()["documents"]}
        assert listed == {own_document}
        upload_other = await client.post("/api/documents", files={"file": ("x.md", b"# X\n\nx")},
                                         data={"collection": "team-other"})
        assert upload_other.status_code == (404 if role == "editor" else 403)
    viewer_delete = await clients["viewer"].delete(f"/api/documents/{own_document}")
    assert viewer_delete.status_code == 403, "viewers never change documents, whatever the grant"
    assert (await clients["editor"].delete(f"/api/documents/{own_document}")).status_code == 204


async def _upload(admin, name: str, collection: str) -> str:
    response = await admin.post("/api/documents", files={"file": (name, f"# {name}\n\nbody of {name}".encode())},
                                data={"collection": collection})
    assert response.status_code == 202, response.text
    return (await wait_until_processed(admin, response.json()["document_id"]))["id"]

"""Who is calling: API keys (``Authorization: Bearer`` or ``X-API-Key``) or a session cookie.

Every route declares its gate — ``Public``, ``Viewer``, ``Editor`` or ``Admin`` — as a dependency;
a test walks the route table and fails on a route without one. A gate authenticates, checks
the role, checks CSRF on cookie-authenticated writes, takes a token from the rate limits, and
leaves the principal on ``request.state`` for logging and metrics.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from tsa import metrics
from tsa.access import (Bucket, Lookup, Principal, Role, credential_digest, csrf_matches, retry_after_header,
                        still_valid)
from tsa.container import Container
from tsa.errors import Forbidden, RateLimited, Unauthorized

SESSION_COOKIE = "tsa_session"
CSRF_COOKIE = "tsa_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Credential:
    kind: str  # "key" or "session"
    token: str


def presented_credential(request: Request) -> Credential | None:
    """An API key (Authorization: Bearer, or X-API-Key) wins over a session cookie."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        return Credential("key", token.strip() if scheme.lower() == "bearer" else "")
    if key := request.headers.get("x-api-key"):
        return Credential("key", key)
    if session := request.cookies.get(SESSION_COOKIE):
        return Credential("session", session)
    return None


def _refused(credential: Credential | None) -> Unauthorized:
    metrics.AUTH_EVENTS.labels("failure").inc()
    if credential is None:
        return Unauthorized("sign in, or send an API key (Authorization: Bearer <key> or X-API-Key)")
    return Unauthorized("the API key or session is not valid (wrong, revoked, expired or signed out)")


async def _look_up(container: Container, credential: Credential) -> Lookup | None:
    principals = container.access.principals
    if not credential.token:
        return None
    if credential.kind == "key":
        return await principals.by_key(credential.token)
    return await principals.by_session(credential.token)


async def authenticate(request: Request, container: Container) -> tuple[Principal, float]:
    """The caller and the rate limits' verdict (seconds to wait, 0 to go ahead); Unauthorized for
    missing or bad credentials, never saying which part was wrong.

    A caller seen before costs one query (the generations, needed by the answer path anyway),
    made while Redis takes the rate-limit token; otherwise the database is asked in full."""
    credential = presented_credential(request)
    if credential is None:
        raise _refused(None)
    access = container.access
    digest = credential_digest(credential.kind, credential.token)
    now = dt.datetime.now(dt.UTC)
    entry = access.principal_cache.get(digest)
    wait_s: float | None = None
    epoch = access.watch.epoch  # what the queries below read is kept only if nothing changed meanwhile
    if entry is not None:
        buckets = rate_buckets(entry.principal, container)
        if access.limiter.take_leased(buckets):
            wait_s, generations = 0.0, await access.principals.generations()
        else:  # ask Redis while PostgreSQL answers
            limited = asyncio.ensure_future(access.limiter.wait_s(buckets))
            try:
                generations = await access.principals.generations()
            finally:
                wait_s = await limited  # never left running, whatever happened to the query
        if not still_valid(entry, generations.access, now):
            access.principal_cache.drop(digest)
            entry = None
        else:
            entry.generations = generations
            await access.principals.touch(entry, now)
    if entry is None:
        entry = await _look_up(container, credential)
        if entry is None:
            raise _refused(credential)
        access.principal_cache.put(digest, entry)
    access.watch.learned(entry.generations.access, epoch)
    if wait_s is None:
        wait_s = await access.limiter.wait_s(rate_buckets(entry.principal, container))
    request.state.corpus_generation = entry.generations.corpus
    return entry.principal, wait_s


async def known_caller(request: Request, container: Container, required: Role) -> Principal | None:
    """The caller, when this replica can let them in without asking the database: an API key it has
    seen, nothing about access changed since (``AccessWatch``), the role enough, a rate-limit token
    taken. None for anything else — a new or bad key, a session, a change, a lost announcement
    connection, a caller to slow down — and the full gate then decides, and says why."""
    access = container.access
    generation = access.watch.current()
    credential = presented_credential(request)
    if generation is None or credential is None or credential.kind != "key" or not credential.token:
        return None
    entry = access.principal_cache.get(credential_digest("key", credential.token))
    now = dt.datetime.now(dt.UTC)
    if entry is None or not still_valid(entry, generation, now) or not entry.principal.may(required):
        return None
    if await access.limiter.wait_s(rate_buckets(entry.principal, container)):
        return None  # a refused token costs nothing: the gate asks again and answers 429
    await access.principals.touch(entry, now)
    metrics.AUTH_EVENTS.labels("success").inc()
    return entry.principal


def _check_csrf(request: Request, principal: Principal) -> None:
    if principal.via == "session" and request.method not in _SAFE_METHODS and not csrf_matches(
            request.headers.get(CSRF_HEADER), principal.csrf_token):
        metrics.AUTH_EVENTS.labels("forbidden").inc()
        raise Forbidden(f"a signed-in browser must send the {CSRF_HEADER} header it was given at sign-in")


def rate_buckets(principal: Principal, container: Container) -> list[Bucket]:
    settings = container.settings
    buckets = [Bucket(f"user:{principal.user_id}", settings.rate_limit_user_per_minute, settings.rate_limit_burst)]
    if principal.key_id is not None:
        buckets.append(Bucket(f"key:{principal.key_id}", settings.rate_limit_key_per_minute,
                              settings.rate_limit_burst))
    return buckets


class Gate:
    """A route's access rule: ``None`` lets anyone in, a role lets in that role and those above it."""

    def __init__(self, required: Role | None) -> None:
        self.required = required

    def __repr__(self) -> str:
        return f"Gate({self.required.name if self.required else 'public'})"

    async def __call__(self, request: Request) -> Principal | None:
        if self.required is None:
            return None
        # The container from app state directly: one dependency fewer to solve on every request.
        container: Container = request.app.state.container
        principal, wait_s = await authenticate(request, container)
        request.state.principal = principal
        _check_csrf(request, principal)
        if not principal.may(self.required):
            metrics.AUTH_EVENTS.labels("forbidden").inc()
            raise Forbidden(f"this needs the {self.required.name} role; you are {principal.role.name}")
        if wait_s:
            metrics.AUTH_EVENTS.labels("rate_limited").inc()
            raise RateLimited("too many requests; slow down", retry_after_header(wait_s))
        metrics.AUTH_EVENTS.labels("success").inc()
        return principal


PUBLIC, VIEWER, EDITOR, ADMIN = Gate(None), Gate(Role.viewer), Gate(Role.editor), Gate(Role.admin)
Public = Depends(PUBLIC)
Viewer = Annotated[Principal, Depends(VIEWER)]
Editor = Annotated[Principal, Depends(EDITOR)]
Admin = Annotated[Principal, Depends(ADMIN)]
# For routes that need the gate but not the principal itself.
ViewerOnly, EditorOnly, AdminOnly = Depends(VIEWER), Depends(EDITOR), Depends(ADMIN)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def api_routes(routes: list[BaseRoute]) -> list[APIRoute]:
    """Every API route, flattened (newer FastAPI keeps included routers as nodes of their own)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (included := getattr(route, "original_router", None)) is not None:
            found += api_routes(included.routes)
    return found


def route_gate(route: APIRoute) -> Gate | None:
    """The route's access rule: the Gate among its dependencies, at any depth (None: it has none)."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Gate):
            return dependant.call
        pending.extend(dependant.dependencies)
    return None


SECURITY_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key: Authorization: Bearer tsa_…"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                "description": f"From POST /api/auth/login; writes also need the {CSRF_HEADER} header"},
}


def document_security(schema: dict, routes: list[BaseRoute]) -> dict:
    """Say in the OpenAPI schema which operations need credentials, and which role."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for route in api_routes(routes):
        gate = route_gate(route)
        for method in route.methods:
            operation = schema["paths"].get(route.path, {}).get(method.lower())
            if operation is None or gate is None:
                continue
            if gate.required is None:
                operation["security"] = []
            else:
                operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
                operation["description"] = (f"Needs the {gate.required.name} role or above. "
                                            + operation.get("description", "")).strip()
    return schema

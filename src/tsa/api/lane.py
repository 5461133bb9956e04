"""The drop-in APIs' calls to the fleet's models, from callers this replica knows, past the framework.

A proxied ``/api/chat`` spent most of what tsa added in FastAPI's routing, exception and dependency
layers, the middleware wrapped around every message sent, and the query that read the access
generation. This lane stands in front of the whole app and answers the drop-in calls clients make
most — chat, generate and embeddings, in both APIs — with the routes' own handlers, when:

- the body is a JSON object naming a model other than the manuals model (whose answers need the
  corpus generation, read per request), sent with a length within ``MAX_LANE_BODY``, and
- the caller is let in by ``known_caller``: a key seen before, no access change since, a token taken.

It does itself what the app's middleware would: counts and times the request under its route, cuts
off a client that stops reading, answers an unexpected error with a logged 500. Anything else goes
on to the app with the body already read handed over unchanged, and is handled — and refused, with
the reason — exactly as before. The lane also keeps ``AccessWatch`` honest for this replica: a
request that may change who may do what (``ACCESS_WRITES``) invalidates it before its response starts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsa.access import Principal, Role
from tsa.api.auth import known_caller
from tsa.api.clients import ClientLabels
from tsa.api.compat import openai_routes
from tsa.api.compat.manuals import is_manuals_model
from tsa.api.errors import error_body
from tsa.api.limits import ClientTooSlow, write_timed
from tsa.api.middleware import record_request
from tsa.api.routes import ollama_proxy
from tsa.asgi import header, read_body, replaying
from tsa.container import Container
from tsa.json_codec import loads

log = logging.getLogger(__name__)
Answer = Callable[[Request, Container, Principal, Any], Awaitable[Response]]
ANSWERS: dict[str, Answer] = {
    "/api/chat": ollama_proxy.answer_chat,
    "/api/generate": ollama_proxy.answer_generate,
    "/api/embed": ollama_proxy.answer_embed,
    "/api/embeddings": ollama_proxy.answer_embeddings,
    "/v1/chat/completions": openai_routes.answer_chat_completions,
    "/v1/completions": openai_routes.answer_completions,
    "/v1/embeddings": openai_routes.answer_embeddings,
}
# Prompts and chat histories fit easily; a body with images over this takes the app's way.
MAX_LANE_BODY = 1024 * 1024
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where accounts, keys, sessions, groups, collections and grants are changed (a test holds every
# writing route of those modules to it): any other write leaves what the watch knows alone.
ACCESS_WRITES = ("/api/users", "/api/keys", "/api/groups", "/api/collections", "/api/auth")


def lane_body(body: bytes, manuals_model: str) -> dict[str, Any] | None:
    """The parsed body, when the lane may take it: a JSON object naming a model not the manuals'."""
    try:
        parsed = loads(body)
    except ValueError:
        return None
    model = parsed.get("model") if isinstance(parsed, dict) else None
    if not isinstance(model, str) or not model or is_manuals_model(manuals_model, model):
        return None
    return parsed


def _content_length(scope: Scope) -> int | None:
    value = header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


class DropInLane:
    def __init__(self, app: ASGIApp, clients: ClientLabels, write_timeout_s: float) -> None:
        self.app = app  # the rest of the service
        self.clients = clients
        self.write_timeout_s = write_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answer = ANSWERS.get(scope["path"]) if scope["method"] == "POST" else None
        length = _content_length(scope) if answer is not None else None
        if answer is None or length is None or length > MAX_LANE_BODY:
            await self.app(scope, receive, _invalidating(scope, send))
            return
        started = time.perf_counter()
        body = await read_body(receive)
        container: Container = scope["app"].state.container
        request = Request(scope, receive)
        taken = lane_body(body, container.settings.manuals_model)
        try:
            principal = None if taken is None else await known_caller(request, container, Role.viewer)
        except Exception:  # noqa: BLE001 - the app's gate meets it again, and answers for it properly
            principal = None
        if taken is None or principal is None:
            await self.app(scope, replaying(body, receive), send)
            return
        request.state.principal = principal
        status: int | None = None  # until the response starts

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            response = await answer(request, container, principal, taken)
            await response(scope, receive, write_timed(sending, self.write_timeout_s))
        except ClientTooSlow:
            pass  # the response is cut short; the server closes the connection
        except Exception:
            if status is not None:  # the answer had begun: all that is left is to end the connection
                raise
            log.exception("unhandled error")
            await JSONResponse(error_body("internal_error", "an unexpected error occurred; it has been logged"),
                               status_code=500)(scope, receive, send)
        finally:
            record_request(scope, scope["path"], status or 500, started, self.clients)


def _invalidating(scope: Scope, send: Send) -> Send:
    """A request that may change access: the access watch forgets what it knew before the response
    starts, so the client's next request here sees the change (other replicas: once announced)."""
    if scope["method"] in _SAFE_METHODS or not scope["path"].startswith(ACCESS_WRITES):
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            scope["app"].state.container.access.watch.invalidate()
        await send(message)
    return sending

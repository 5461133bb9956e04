"""Every error leaves the API as ``{"error": {"code", "message"}}`` with a fitting status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from tsa.access import Principal
from tsa.errors import (BackendError, BackendUnavailable, DatabaseUnavailable, FleetSaturated, RangeNotSatisfiable,
                        TSAError, Unauthorized)
from tsa.store.pool import DATABASE_DOWN, database_down

log = logging.getLogger(__name__)

WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="tsa"'}
# What callers other than admins read instead of an upstream's own words (which name hosts and ports).
_PLAIN_MESSAGES: dict[type[TSAError], str] = {
    FleetSaturated: "every language model server is busy; retry after the time in Retry-After",
    BackendUnavailable: "no language model server could take the request right now",
    BackendError: "the language model server failed to answer",
}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Malformed request (not JSON, or not the expected shape)", 401: "Missing or invalid credentials",
    403: "Signed in without the right (role, or CSRF token missing on a browser write)",
    404: "Not found, or not readable by the caller", 409: "Conflicts with the current state",
    413: "Too large", 415: "Unsupported file type", 416: "The range lies outside the file",
    422: "Invalid field values",
    429: "Rate limit reached; see Retry-After", 502: "A language model server answered with an error",
    503: "A dependency is unavailable or saturated; see Retry-After when present",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route really returns."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def visible_message(exc: TSAError, principal: Principal | None) -> str:
    """Admins see what the backend said; everyone else a plain sentence."""
    if principal is not None and principal.is_admin:
        return exc.message
    return next((text for kind, text in _PLAIN_MESSAGES.items() if isinstance(exc, kind)), exc.message)


def caller(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)


def _describe(exc: RequestValidationError) -> tuple[int, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "the request body is not valid JSON"
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return 422, "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TSAError)
    async def _service_error(request: Request, exc: TSAError) -> JSONResponse:
        retry_after = getattr(exc, "retry_after_s", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if isinstance(exc, Unauthorized):
            headers.update(WWW_AUTHENTICATE)
        if isinstance(exc, RangeNotSatisfiable):
            headers["Content-Range"] = f"bytes */{exc.size}"
        return JSONResponse(error_body(exc.code, visible_message(exc, caller(request))), status_code=exc.status,
                            headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = _describe(exc)
        return JSONResponse(error_body("invalid_request", message), status_code=status)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def _database_or_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if database_down(exc):  # a dependency away, not a bug: say so, and when to come back
            log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
            return await _service_error(request, DatabaseUnavailable())
        return await _unexpected(request, exc)

    # Handled here rather than by the catch-all, which re-raises after answering (a logged crash).
    for kind in (OSError, *DATABASE_DOWN):
        app.add_exception_handler(kind, _database_or_unexpected)  # type: ignore[arg-type]

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(error_body("internal_error", "an unexpected error occurred; it has been logged"),
                            status_code=500)

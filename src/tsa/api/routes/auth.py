"""Signing in and out (browser sessions), and who the caller is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from tsa import metrics
from tsa.access import Bucket, Role, retry_after_header
from tsa.api.auth import CSRF_COOKIE, SESSION_COOKIE, Public, Viewer, client_address
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.api.schemas import LoginRequest
from tsa.container import Container
from tsa.errors import RateLimited, Unauthorized

router = APIRouter()
_BAD_LOGIN = "the user name or password is wrong"


def _secure(request: Request, container: Container) -> bool:
    forced = container.settings.session_cookie_secure
    return request.url.scheme == "https" if forced is None else forced


async def _throttle_login(request: Request, container: Container, username: str) -> None:
    """Attempts per account and per address, so neither one name nor one host can guess on."""
    per_minute = container.settings.login_attempts_per_minute
    buckets = [Bucket(f"login:user:{username.lower()}", per_minute, max(1, int(per_minute))),
               Bucket(f"login:addr:{client_address(request)}", 4 * per_minute, max(1, int(4 * per_minute)))]
    wait_s = await container.access.limiter.wait_s(buckets)
    if wait_s:
        metrics.AUTH_EVENTS.labels("rate_limited").inc()
        raise RateLimited("too many sign-in attempts; wait and try again", retry_after_header(wait_s))


@router.post("/api/auth/login", dependencies=[Public], responses=documented(400, 401, 422, 429))
async def login(body: LoginRequest, request: Request, container: ContainerDep) -> JSONResponse:
    """A session cookie (HttpOnly) and the CSRF token to send as ``X-CSRF-Token`` on writes."""
    await _throttle_login(request, container, body.username)
    user_id = await container.access.accounts.check_password(body.username, body.password)
    principal = await container.access.principals.by_user_id(user_id, "session") if user_id else None
    if principal is None:
        metrics.AUTH_EVENTS.labels("failure").inc()
        await container.access.audit.record("auth.login_failed", None, actor_name=body.username,
                                            address=client_address(request))
        raise Unauthorized(_BAD_LOGIN)
    ttl_s = container.settings.session_ttl_s
    token, csrf = await container.access.accounts.open_session(principal.user_id, ttl_s)
    metrics.AUTH_EVENTS.labels("success").inc()
    await container.access.audit.record("auth.login", principal, address=client_address(request))
    response = JSONResponse({"user": {"id": principal.user_id, "username": principal.username,
                                      "role": principal.role.name}, "csrf_token": csrf, "expires_in_s": ttl_s})
    secure = _secure(request, container)
    response.set_cookie(SESSION_COOKIE, token, max_age=ttl_s, httponly=True, secure=secure, samesite="lax")
    # Readable by the page's script, which echoes it in X-CSRF-Token; useless to another site.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=ttl_s, httponly=False, secure=secure, samesite="lax")
    return response


@router.post("/api/auth/logout", status_code=204, dependencies=[Public])
async def logout(request: Request, container: ContainerDep) -> Response:
    """Ends the browser session, if there is one; always succeeds."""
    if token := request.cookies.get(SESSION_COOKIE):
        await container.access.accounts.close_session(token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/api/auth/me", responses=documented(401, 403, 429))
async def me(principal: Viewer, container: ContainerDep) -> dict[str, Any]:
    """Who you are, what you may read and change, and (for admins) where the dashboards are."""
    grafana = container.settings.grafana_url if principal.role is Role.admin else None
    return {"id": principal.user_id, "username": principal.username, "role": principal.role.name,
            "via": principal.via, "key_id": principal.key_id,
            "collections": {"readable": sorted(principal.scope.readable),
                            "editable": sorted(principal.scope.editable)},
            "links": {"grafana": grafana}}

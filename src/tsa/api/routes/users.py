"""Users (admins only) and API keys (your own; admins anyone's)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from tsa.api.auth import Admin, Viewer, client_address
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.api.schemas import KeyCreate, UserCreate, UserUpdate
from tsa.errors import Forbidden, NotFound

router = APIRouter()
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/api/users", responses=documented(401, 403, 429))
async def list_users(container: ContainerDep, _: Admin) -> dict[str, Any]:
    return {"users": await container.access.accounts.users()}


@router.post("/api/users", status_code=201, responses=documented(400, 401, 403, 409, 422, 429))
async def create_user(body: UserCreate, request: Request, container: ContainerDep, principal: Admin
                      ) -> dict[str, Any]:
    user = await container.access.accounts.create_user(body.username, body.role, body.password)
    await container.access.audit.record("user.create", principal, target=body.username,
                                        address=client_address(request), role=body.role)
    return user


@router.get("/api/users/{user_id}", responses=documented(401, 403, 404, 422, 429))
async def get_user(user_id: Id, container: ContainerDep, _: Admin) -> dict[str, Any]:
    return await container.access.accounts.user(user_id)


@router.patch("/api/users/{user_id}", responses=documented(400, 401, 403, 404, 422, 429))
async def update_user(user_id: Id, body: UserUpdate, request: Request, container: ContainerDep,
                      principal: Admin) -> dict[str, Any]:
    if user_id == principal.user_id and (body.disabled or body.role not in (None, "admin")):
        raise Forbidden("you cannot disable your own account or give up your own admin role")
    user = await container.access.accounts.update_user(user_id, role=body.role, password=body.password,
                                                       disabled=body.disabled)
    changed = sorted(body.model_fields_set - {"password"}) + (["password"] if body.password else [])
    await container.access.audit.record("user.update", principal, target=user["username"],
                                        address=client_address(request), changed=changed, role=body.role,
                                        disabled=body.disabled)
    return user


@router.delete("/api/users/{user_id}", status_code=204, responses=documented(401, 403, 404, 422, 429))
async def delete_user(user_id: Id, request: Request, container: ContainerDep, principal: Admin) -> Response:
    if user_id == principal.user_id:
        raise Forbidden("you cannot delete your own account")
    user = await container.access.accounts.user(user_id)
    await container.access.accounts.delete_user(user_id)
    await container.access.audit.record("user.delete", principal, target=user["username"],
                                        address=client_address(request))
    return Response(status_code=204)


@router.get("/api/keys", responses=documented(401, 403, 429))
async def list_keys(container: ContainerDep, principal: Viewer, all_users: bool = False) -> dict[str, Any]:
    """Your keys (prefix, name, dates; never the secret). Admins: ``all_users=true`` for everyone's."""
    if all_users and not principal.is_admin:
        raise Forbidden("only admins may list every user's keys")
    return {"keys": await container.access.accounts.keys(None if all_users else principal.user_id)}


@router.post("/api/keys", status_code=201, responses=documented(400, 401, 403, 404, 422, 429))
async def create_key(body: KeyCreate, request: Request, container: ContainerDep, principal: Viewer
                     ) -> dict[str, Any]:
    """The new key's ``token`` is in this response only; store it now."""
    owner = body.user_id or principal.user_id
    if owner != principal.user_id and not principal.is_admin:
        raise Forbidden("only admins may create keys for other users")
    token, key = await container.access.accounts.create_key(owner, body.name, body.expires_at)
    await container.access.audit.record("key.create", principal, target=key["prefix"],
                                        address=client_address(request), owner=owner, name=body.name)
    return {**key, "token": token}


@router.delete("/api/keys/{key_id}", responses=documented(401, 403, 404, 422, 429))
async def revoke_key(key_id: Id, request: Request, container: ContainerDep, principal: Viewer) -> dict[str, Any]:
    """Revoked at once, on every replica: keys are checked against the database on every request."""
    owner = await container.access.accounts.key_owner(key_id)
    if owner != principal.user_id and not principal.is_admin:
        raise NotFound(f"key {key_id} not found")  # another user's key is none of your business
    key = await container.access.accounts.revoke_key(key_id)
    await container.access.audit.record("key.revoke", principal, target=key["prefix"],
                                        address=client_address(request), owner=owner)
    return key

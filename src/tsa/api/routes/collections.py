"""Groups, collections and grants: admins manage them; everyone lists the collections they may read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from tsa.api.auth import Admin, Viewer, client_address
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented
from tsa.api.schemas import CollectionCreate, CollectionUpdate, GrantRequest, GroupCreate

router = APIRouter()
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/api/groups", responses=documented(401, 403, 429))
async def list_groups(container: ContainerDep, _: Admin) -> dict[str, Any]:
    return {"groups": await container.access.accounts.groups()}


@router.post("/api/groups", status_code=201, responses=documented(400, 401, 403, 409, 422, 429))
async def create_group(body: GroupCreate, request: Request, container: ContainerDep, principal: Admin
                       ) -> dict[str, Any]:
    group = await container.access.accounts.create_group(body.name)
    await container.access.audit.record("group.create", principal, target=body.name, address=client_address(request))
    return group


@router.delete("/api/groups/{group_id}", status_code=204, responses=documented(401, 403, 404, 422, 429))
async def delete_group(group_id: Id, request: Request, container: ContainerDep, principal: Admin) -> Response:
    await container.access.accounts.delete_group(group_id)
    await container.access.audit.record("group.delete", principal, target=str(group_id),
                                        address=client_address(request))
    return Response(status_code=204)


@router.put("/api/groups/{group_id}/members/{user_id}", status_code=204,
            responses=documented(401, 403, 404, 422, 429))
async def add_member(group_id: Id, user_id: Id, request: Request, container: ContainerDep, principal: Admin
                     ) -> Response:
    await container.access.accounts.add_member(group_id, user_id)
    await container.access.audit.record("group.add_member", principal, target=str(group_id),
                                        address=client_address(request), user_id=user_id)
    return Response(status_code=204)


@router.delete("/api/groups/{group_id}/members/{user_id}", status_code=204,
               responses=documented(401, 403, 404, 422, 429))
async def remove_member(group_id: Id, user_id: Id, request: Request, container: ContainerDep, principal: Admin
                        ) -> Response:
    await container.access.accounts.remove_member(group_id, user_id)
    await container.access.audit.record("group.remove_member", principal, target=str(group_id),
                                        address=client_address(request), user_id=user_id)
    return Response(status_code=204)


@router.get("/api/collections", responses=documented(401, 403, 429))
async def list_collections(container: ContainerDep, principal: Viewer) -> dict[str, Any]:
    """Admins: every collection with its grants. Others: the collections they may read, and whether they may edit."""
    if principal.is_admin:
        return {"collections": await container.access.collections.list(with_grants=True)}
    listed = await container.access.collections.list(only=principal.scope.readable)
    return {"collections": [{**c, "may_edit": principal.can_edit(c["id"])} for c in listed]}


@router.post("/api/collections", status_code=201, responses=documented(400, 401, 403, 409, 422, 429))
async def create_collection(body: CollectionCreate, request: Request, container: ContainerDep, principal: Admin
                            ) -> dict[str, Any]:
    collection = await container.access.collections.create(body.name, body.everyone)
    await container.access.audit.record("collection.create", principal, target=body.name,
                                        address=client_address(request), everyone=body.everyone)
    return collection


@router.patch("/api/collections/{collection_id}", responses=documented(400, 401, 403, 404, 409, 422, 429))
async def update_collection(collection_id: Id, body: CollectionUpdate, request: Request, container: ContainerDep,
                            principal: Admin) -> dict[str, Any]:
    web = body.model_dump(include={"web_search", "web_allow_domains", "web_block_domains"}, exclude_none=True)
    for key in ("web_allow_domains", "web_block_domains"):
        if key in web:
            web[key] = sorted({d.lower().strip(".") for d in web[key]})
    collection = await container.access.collections.update(collection_id, name=body.name, everyone=body.everyone,
                                                           web=web)
    await container.access.audit.record("collection.update", principal, target=collection["name"],
                                        address=client_address(request), everyone=body.everyone, name=body.name,
                                        **web)
    return collection


@router.delete("/api/collections/{collection_id}", status_code=204,
               responses=documented(401, 403, 404, 409, 422, 429))
async def delete_collection(collection_id: Id, request: Request, container: ContainerDep, principal: Admin
                            ) -> Response:
    await container.access.collections.delete(collection_id)
    await container.access.audit.record("collection.delete", principal, target=str(collection_id),
                                        address=client_address(request))
    return Response(status_code=204)


def _grant_routes(kind: str) -> None:
    """PUT and DELETE /api/collections/{id}/grants/{users|groups}/{member_id}."""
    path = f"/api/collections/{{collection_id}}/grants/{kind}s/{{member_id}}"

    @router.put(path, status_code=204, responses=documented(400, 401, 403, 404, 422, 429),
                name=f"grant_to_{kind}")
    async def grant(collection_id: Id, member_id: Id, body: GrantRequest, request: Request,
                    container: ContainerDep, principal: Admin) -> Response:
        await container.access.collections.grant(collection_id, body.permission, **{f"{kind}_id": member_id})
        await container.access.audit.record("grant.set", principal, target=str(collection_id),
                                            address=client_address(request), permission=body.permission,
                                            **{f"{kind}_id": member_id})
        return Response(status_code=204)

    @router.delete(path, status_code=204, responses=documented(401, 403, 404, 422, 429),
                   name=f"revoke_from_{kind}")
    async def revoke(collection_id: Id, member_id: Id, request: Request, container: ContainerDep,
                     principal: Admin) -> Response:
        await container.access.collections.revoke(collection_id, **{f"{kind}_id": member_id})
        await container.access.audit.record("grant.remove", principal, target=str(collection_id),
                                            address=client_address(request), **{f"{kind}_id": member_id})
        return Response(status_code=204)


_grant_routes("user")
_grant_routes("group")

"""Upload (processed in the background), list, show and delete documents, within the caller's collections."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tsa.access import DEFAULT_COLLECTION, Principal
from tsa.api.auth import Admin, Editor, Viewer, client_address
from tsa.api.deps import ContainerDep
from tsa.api.errors import ErrorBody, documented
from tsa.api.sse import sse_event
from tsa.api.ranges import ByteRange, Unsatisfiable, requested_range
from tsa.container import Container
from tsa.errors import Conflict, Forbidden, InvalidRequest, InvalidValue, NotFound, PayloadTooLarge, RangeNotSatisfiable
from tsa.jobs import JobPriority
from tsa.records import DocumentInfo

router = APIRouter()
# Multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 16 * 1024


def document_json(info: DocumentInfo, stalled_after_s: float | None = None) -> dict[str, Any]:
    """The document as the API shows it; ``stalled`` when it is being worked on but has not moved
    for ``stalled_after_s``."""
    body = dataclasses.asdict(info)
    body["id"] = str(info.id)
    for moment in ("created_at", "updated_at", "progress_at"):
        body[moment] = body[moment].isoformat() if body[moment] is not None else None
    body["superseded_by"] = str(info.superseded_by) if info.superseded_by else None
    body["superseded"] = info.superseded_by is not None
    del body["job_id"]
    working = info.stage in ("parsing", "embedding", "publishing")
    body["stalled"] = bool(working and stalled_after_s is not None and info.progress_at is not None and
                           (dt.datetime.now(dt.UTC) - info.progress_at).total_seconds() > stalled_after_s)
    return body


async def read_limited(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than the {limit}-byte limit (MAX_UPLOAD_BYTES)")
    return data


async def editable_collection(container: Container, principal: Principal, name: str) -> int:
    """The collection's id if the caller may add to it; unknown and unreadable look the same."""
    if "\x00" in name:
        raise InvalidValue("the collection name must not contain a NUL character")
    collection_id = await container.access.collections.id_of(name)
    if collection_id is None or not principal.can_read(collection_id):
        raise NotFound(f"collection {name!r} not found")
    if not principal.can_edit(collection_id):
        raise Forbidden(f"you may read collection {name!r} but not change it")
    return collection_id


def checked_name(filename: str | None) -> str:
    if not filename:
        raise InvalidRequest("the upload needs a file name")
    if "\x00" in filename:
        raise InvalidValue("the file name must not contain a NUL character")
    return filename


def _optional(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    if "\x00" in value:
        raise InvalidValue(f"{field} must not contain a NUL character")
    return " ".join(value.split())


Product = Annotated[str | None, Form(max_length=200, description="The manual this is an edition of; editions "
                                                                 "of one manual supersede each other")]
Edition = Annotated[str | None, Form(max_length=50, description="Edition or revision (\"3\", \"Rev. B\"); "
                                                                "read from the title page when not given")]


@router.post("/api/documents", status_code=202,
             responses={200: {"description": "Identical content is already in the collection"},
                        **documented(400, 401, 403, 404, 413, 415, 422, 429)})
async def upload_document(request: Request, file: UploadFile, container: ContainerDep, principal: Editor,
                          collection: Annotated[str, Form(max_length=100)] = DEFAULT_COLLECTION,
                          product: Product = None, edition: Edition = None) -> JSONResponse:
    """Add a document to a collection the caller may edit (``collection``, by name). It is queued
    ahead of bulk imports; follow it at ``Location`` or its ``/events``."""
    limit = container.settings.max_upload_bytes
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit + MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(f"the upload is {declared} bytes; the limit is {limit} (MAX_UPLOAD_BYTES)")
    name = checked_name(file.filename)
    collection_id = await editable_collection(container, principal, collection)
    data = await read_limited(file, limit)
    replacing = await container.documents.source_is_live(name, collection_id)
    submission = await container.pipeline.submit(name, data, collection_id, priority=JobPriority.UPLOAD,
                                                 product=_optional(product, "product"),
                                                 edition=_optional(edition, "edition"))
    body = {"document_id": str(submission.document_id), "status": submission.status,
            "duplicate": submission.duplicate}
    if submission.duplicate:
        return JSONResponse(body, status_code=200)
    await container.access.audit.record("document.replace" if replacing else "document.upload", principal,
                                        target=str(submission.document_id), address=client_address(request),
                                        source=name, collection=collection, bytes=len(data))
    return JSONResponse(body, status_code=202, headers={"Location": f"/api/documents/{submission.document_id}"})


@router.get("/api/documents", responses=documented(401, 403, 422, 429))
async def list_documents(container: ContainerDep, principal: Viewer,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                         offset: Annotated[int, Query(ge=0, le=2**31)] = 0) -> dict[str, Any]:
    documents = await container.documents.list(principal.scope.readable, limit, offset)
    stalled_after = container.settings.worker_stalled_after_s
    return {"documents": [document_json(d, stalled_after) for d in documents]}


@router.get("/api/documents/{document_id}", responses=documented(401, 403, 404, 422, 429))
async def get_document(document_id: uuid.UUID, container: ContainerDep, principal: Viewer) -> dict[str, Any]:
    return document_json(await container.documents.get(document_id, principal.scope.readable),
                         container.settings.worker_stalled_after_s)


# What a browser may do with a stored original: show it, never run it (an HTML manual may hold script).
_CONTENT_TYPES = {"pdf": "application/pdf", "md": "text/markdown; charset=utf-8", "txt": "text/plain; charset=utf-8",
                  "html": "text/html; charset=utf-8",
                  "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The original file", "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}},
    206: {"description": "The requested byte range (Content-Range)", "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}},
    304: {"description": "Unchanged (If-None-Match)"},
    416: {"model": ErrorBody, "description": "The range lies outside the file"},
    **documented(401, 403, 404, 422, 429),
}


@router.get("/api/documents/{document_id}/file", response_class=Response, responses=_FILE_RESPONSES)
async def document_file(document_id: uuid.UUID, request: Request, container: ContainerDep, principal: Viewer
                        ) -> Response:
    """The uploaded file as it came, with ``ETag`` and HTTP ``Range`` (one range) for viewers that page."""
    document = await container.documents.get(document_id, principal.scope.readable)
    size = await container.originals.size(document.sha256)
    if size is None:
        raise NotFound("the original of this document is not stored (it was ingested before originals were "
                       "kept); upload it again")
    etag = f'"{document.sha256}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "private, no-cache",
               "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
               "Content-Disposition": f"inline; filename*=UTF-8''{quote(document.source)}"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    try:
        wanted = requested_range(request.headers.get("range"), size)
    except Unsatisfiable:
        raise RangeNotSatisfiable(f"the file has {size} bytes", size) from None
    part = wanted or ByteRange(0, size - 1)
    if wanted is not None:
        headers["Content-Range"] = wanted.content_range(size)
    headers["Content-Length"] = str(part.length)
    body = container.originals.read(document.sha256, part.start, part.end)
    return StreamingResponse(body, status_code=206 if wanted else 200, headers=headers,
                             media_type=_CONTENT_TYPES.get(document.doc_type, "application/octet-stream"))


@router.delete("/api/documents/{document_id}", status_code=204, responses=documented(401, 403, 404, 422, 429))
async def delete_document(document_id: uuid.UUID, request: Request, container: ContainerDep,
                          principal: Editor) -> Response:
    document = await container.documents.get(document_id, principal.scope.readable)
    if not principal.can_edit(document.collection_id):
        raise Forbidden("you may read this document's collection but not change it")
    await container.pipeline.delete(document_id)
    await container.access.audit.record("document.delete", principal, target=str(document_id),
                                        address=client_address(request), source=document.source)
    return Response(status_code=204)


# --- progress -------------------------------------------------------------------------------------

_FINISHED_STAGES = ("ready", "failed")
_KEEPALIVE_S = 15.0


@router.get("/api/documents/{document_id}/events", response_class=StreamingResponse,
            responses={200: {"description": "Server-sent events: ``progress`` (the document, as GET shows it) on "
                                            "every change, then ``end`` once it is ready or failed, or ``deleted``",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                       **documented(401, 403, 404, 422, 429)})
async def document_events(document_id: uuid.UUID, container: ContainerDep, principal: Viewer) -> StreamingResponse:
    """Follow a document through its stages, for a progress bar (``EventSource``)."""
    scope = principal.scope.readable
    await container.documents.get(document_id, scope)
    stalled_after = container.settings.worker_stalled_after_s

    async def events() -> AsyncIterator[bytes]:
        last: dict[str, Any] | None = None
        async with container.progress.follow(document_id) as changed:
            while True:
                changed.clear()
                try:
                    document = await container.documents.get(document_id, scope)
                except NotFound:
                    yield sse_event("deleted", {"id": str(document_id)})
                    return
                body = document_json(document, stalled_after)
                if body != last:
                    yield sse_event("progress", body)
                    last = body
                if document.stage in _FINISHED_STAGES:
                    yield sse_event("end", {"id": str(document_id), "status": document.status})
                    return
                try:
                    await asyncio.wait_for(changed.wait(), timeout=_KEEPALIVE_S)
                except TimeoutError:
                    yield b": still here\n\n"  # keeps proxies from closing an idle stream

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# --- parsing again --------------------------------------------------------------------------------

@router.post("/api/documents/{document_id}/reparse", status_code=202, responses=documented(401, 403, 404, 409, 422,
                                                                                           429))
async def reparse_document(document_id: uuid.UUID, request: Request, container: ContainerDep,
                           principal: Editor) -> dict[str, Any]:
    """Parse and chunk a live document again from its stored original; answers keep using its
    old chunks until the new ones replace them in one step."""
    document = await container.documents.get(document_id, principal.scope.readable)
    if not principal.can_edit(document.collection_id):
        raise Forbidden("you may read this document's collection but not change it")
    if document.status != "ready":
        raise Conflict(f"the document is {document.status}; only a ready document can be parsed again")
    job_id = await container.pipeline.enqueue(document_id, JobPriority.UPLOAD, reparse=True)
    await container.access.audit.record("document.reparse", principal, target=str(document_id),
                                        address=client_address(request))
    return {"document_id": str(document_id), "job_id": job_id}


@router.post("/api/admin/reparse", status_code=202, responses=documented(401, 403, 422, 429))
async def reparse_all(request: Request, container: ContainerDep, principal: Admin) -> dict[str, Any]:
    """Parse every live document again from its original (after a parser or chunker change), one
    document at a time, behind uploads and bulk imports."""
    ids = await container.documents.ready_ids()
    for document_id in ids:
        await container.pipeline.enqueue(document_id, JobPriority.REPARSE, reparse=True)
    await container.access.audit.record("document.reparse_all", principal, address=client_address(request),
                                        documents=len(ids))
    return {"queued": len(ids)}

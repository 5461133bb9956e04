"""Upload (processed in the background), list, show and delete documents, within the caller's collections."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tsa.access import DEFAULT_COLLECTION, Principal
from tsa.api.auth import Editor, Viewer, client_address
from tsa.api.deps import ContainerDep
from tsa.api.errors import ErrorBody, documented
from tsa.api.ranges import ByteRange, Unsatisfiable, requested_range
from tsa.container import Container
from tsa.errors import Forbidden, InvalidRequest, InvalidValue, NotFound, PayloadTooLarge, RangeNotSatisfiable
from tsa.records import DocumentInfo

router = APIRouter()
# Multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 16 * 1024


def document_json(info: DocumentInfo) -> dict[str, Any]:
    body = dataclasses.asdict(info)
    body["id"] = str(info.id)
    body["created_at"] = info.created_at.isoformat()
    body["updated_at"] = info.updated_at.isoformat()
    return body


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than the {limit}-byte limit (MAX_UPLOAD_BYTES)")
    return data


async def _editable_collection(container: Container, principal: Principal, name: str) -> int:
    """The collection's id if the caller may add to it; unknown and unreadable look the same."""
    collection_id = await container.access.collections.id_of(name)
    if collection_id is None or not principal.can_read(collection_id):
        raise NotFound(f"collection {name!r} not found")
    if not principal.can_edit(collection_id):
        raise Forbidden(f"you may read collection {name!r} but not change it")
    return collection_id


def _checked_name(filename: str | None) -> str:
    if not filename:
        raise InvalidRequest("the upload needs a file name")
    if "\x00" in filename:
        raise InvalidValue("the file name must not contain a NUL character")
    return filename


@router.post("/api/documents", status_code=202,
             responses={200: {"description": "Identical content is already in the collection"},
                        **documented(400, 401, 403, 404, 413, 415, 422, 429)})
async def upload_document(request: Request, file: UploadFile, container: ContainerDep, principal: Editor,
                          collection: Annotated[str, Form(max_length=100)] = DEFAULT_COLLECTION) -> JSONResponse:
    """Add a document to a collection the caller may edit (``collection``, by name)."""
    limit = container.settings.max_upload_bytes
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit + MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(f"the upload is {declared} bytes; the limit is {limit} (MAX_UPLOAD_BYTES)")
    name = _checked_name(file.filename)
    if "\x00" in collection:
        raise InvalidValue("the collection name must not contain a NUL character")
    collection_id = await _editable_collection(container, principal, collection)
    data = await _read_limited(file, limit)
    replacing = await container.documents.source_is_live(name, collection_id)
    submission = await container.pipeline.submit(name, data, collection_id)
    body = {"document_id": str(submission.document_id), "status": submission.status,
            "duplicate": submission.duplicate}
    if submission.duplicate:
        return JSONResponse(body, status_code=200)
    await container.access.audit.record("document.replace" if replacing else "document.upload", principal,
                                        target=str(submission.document_id), address=client_address(request),
                                        source=name, collection=collection, bytes=len(data))
    task = asyncio.create_task(container.pipeline.process(submission.document_id, name, data))
    tasks: set[asyncio.Task[Any]] = request.app.state.background
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return JSONResponse(body, status_code=202, headers={"Location": f"/api/documents/{submission.document_id}"})


@router.get("/api/documents", responses=documented(401, 403, 422, 429))
async def list_documents(container: ContainerDep, principal: Viewer,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                         offset: Annotated[int, Query(ge=0, le=2**31)] = 0) -> dict[str, Any]:
    documents = await container.documents.list(principal.scope.readable, limit, offset)
    return {"documents": [document_json(d) for d in documents]}


@router.get("/api/documents/{document_id}", responses=documented(401, 403, 404, 422, 429))
async def get_document(document_id: uuid.UUID, container: ContainerDep, principal: Viewer) -> dict[str, Any]:
    return document_json(await container.documents.get(document_id, principal.scope.readable))


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
    await container.documents.delete(document_id)
    await container.access.audit.record("document.delete", principal, target=str(document_id),
                                        address=client_address(request), source=document.source)
    return Response(status_code=204)

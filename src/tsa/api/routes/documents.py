"""Upload (processed in the background), list, show and delete documents."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from tsa.api.deps import ContainerDep
from tsa.errors import InvalidRequest, PayloadTooLarge
from tsa.records import DocumentInfo

router = APIRouter()
# Multipart boundaries and part headers around the file itself.
_MULTIPART_OVERHEAD_BYTES = 16 * 1024


def document_json(info: DocumentInfo) -> dict[str, Any]:
    body = dataclasses.asdict(info)
    body["id"] = str(info.id)
    body["created_at"] = info.created_at.isoformat()
    body["updated_at"] = info.updated_at.isoformat()
    return body


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"{upload.filename} is larger than the {limit}-byte limit (MAX_UPLOAD_BYTES)")
    return data


@router.post("/api/documents", status_code=202)
async def upload_document(request: Request, file: UploadFile, container: ContainerDep) -> JSONResponse:
    limit = container.settings.max_upload_bytes
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit + _MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(f"the upload is {declared} bytes; the limit is {limit} (MAX_UPLOAD_BYTES)")
    if not file.filename:
        raise InvalidRequest("the upload needs a file name")
    data = await _read_limited(file, limit)
    submission = await container.pipeline.submit(file.filename, data)
    body = {"document_id": str(submission.document_id), "status": submission.status,
            "duplicate": submission.duplicate}
    if submission.duplicate:
        return JSONResponse(body, status_code=200)
    task = asyncio.create_task(container.pipeline.process(submission.document_id, file.filename, data))
    tasks: set[asyncio.Task[Any]] = request.app.state.background
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return JSONResponse(body, status_code=202, headers={"Location": f"/api/documents/{submission.document_id}"})


@router.get("/api/documents")
async def list_documents(container: ContainerDep, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    if not 1 <= limit <= 1000 or offset < 0:
        raise InvalidRequest("limit must be 1..1000 and offset ≥ 0")
    return {"documents": [document_json(d) for d in await container.documents.list(limit, offset)]}


@router.get("/api/documents/{document_id}")
async def get_document(document_id: uuid.UUID, container: ContainerDep) -> dict[str, Any]:
    return document_json(await container.documents.get(document_id))


@router.delete("/api/documents/{document_id}", status_code=204)
async def delete_document(document_id: uuid.UUID, container: ContainerDep) -> Response:
    await container.documents.delete(document_id)
    return Response(status_code=204)

"""Bulk import: many files per request, and zip archives of them, each file with its own result."""

from __future__ import annotations

import asyncio
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from tsa.access import DEFAULT_COLLECTION
from tsa.api.auth import Editor, client_address
from tsa.api.deps import ContainerDep
from tsa.api.errors import documented, error_body
from tsa.api.routes.documents import checked_name, editable_collection, read_limited
from tsa.container import Container
from tsa.errors import DocumentError, PayloadTooLarge, TSAError
from tsa.ingest.archive import is_archive, plan_members, read_member
from tsa.jobs import JobPriority

router = APIRouter()


def _rejected(name: str, exc: TSAError) -> dict[str, Any]:
    return {"name": name, "error": {"code": exc.code, "message": exc.message}}


async def _submit_one(container: Container, name: str, data: bytes, collection_id: int) -> dict[str, Any]:
    try:
        submission = await container.pipeline.submit(name, data, collection_id, priority=JobPriority.BULK)
    except TSAError as exc:
        return _rejected(name, exc)
    return {"name": name, "document_id": str(submission.document_id), "status": submission.status,
            "duplicate": submission.duplicate}


async def _submit_archive(container: Container, upload: UploadFile, collection_id: int) -> list[dict[str, Any]]:
    """Each member of a zip as its own document, read one at a time from the spooled upload."""
    settings = container.settings
    try:
        archive = await asyncio.to_thread(zipfile.ZipFile, upload.file)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [_rejected(upload.filename or "archive.zip", DocumentError(f"not a readable zip archive: {exc}"))]
    with archive:
        planned = plan_members(archive.infolist(), settings.max_upload_bytes,
                               settings.max_batch_unpacked_mb * 1024 * 1024, settings.max_batch_files)
        results = []
        for member in planned:
            label = f"{upload.filename}/{member.name}"
            if member.problem is not None:
                results.append(_rejected(label, member.problem))
                continue
            try:
                data = await asyncio.to_thread(read_member, archive, member.info)
            except DocumentError as exc:
                results.append(_rejected(label, exc))
                continue
            results.append({**await _submit_one(container, member.name, data, collection_id), "name": label})
        return results


_IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Nothing new: every file was already in the collection"},
    202: {"description": "At least one file was queued; each file's result is in ``files``"},
    **documented(400, 401, 403, 404, 413, 422, 429),
}


@router.post("/api/imports", status_code=202, responses=_IMPORT_RESPONSES)
async def import_documents(request: Request, files: list[UploadFile], container: ContainerDep, principal: Editor,
                       collection: Annotated[str, Form(max_length=100)] = DEFAULT_COLLECTION) -> JSONResponse:
    """Many documents at once: several files, and zip archives of them (each member a document).
    They queue behind single uploads. Every file gets its own result; a bad one loses nothing else.
    422 when no file could be taken."""
    collection_id = await editable_collection(container, principal, collection)
    if len(files) > container.settings.max_batch_files:
        raise PayloadTooLarge(f"{len(files)} files; the limit is {container.settings.max_batch_files} "
                              "(MAX_BATCH_FILES)")
    results: list[dict[str, Any]] = []
    for upload in files:
        name = upload.filename or ""
        try:
            name = checked_name(upload.filename)
            head = await upload.read(4)
            await upload.seek(0)
            if is_archive(name, head):
                results += await _submit_archive(container, upload, collection_id)
                continue
            data = await read_limited(upload, container.settings.max_upload_bytes)
        except TSAError as exc:
            results.append(_rejected(name or "(no name)", exc))
            continue
        results.append(await _submit_one(container, name, data, collection_id))
    queued = [r for r in results if "document_id" in r and not r["duplicate"]]
    rejected = [r for r in results if "error" in r]
    await container.access.audit.record("document.import", principal, address=client_address(request),
                                        collection=collection, queued=len(queued), rejected=len(rejected))
    body = {"files": results, "queued": len(queued), "rejected": len(rejected)}
    if queued:
        return JSONResponse(body, status_code=202)
    if rejected:
        return JSONResponse({**error_body("invalid_request", "no file of the import could be taken"), **body},
                            status_code=422)
    return JSONResponse(body, status_code=200)

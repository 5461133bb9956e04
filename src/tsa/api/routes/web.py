"""The browser app at ``/`` and its static assets; ``/`` still answers Ollama's probe for API clients."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Path as PathParam
from fastapi.responses import FileResponse, PlainTextResponse, Response

from tsa.api.auth import Public
from tsa.errors import NotFound
from tsa.web import WebAssets, media_type

router = APIRouter()
ASSETS = WebAssets()
# pdf.js compiles its decoders to WebAssembly; nothing else runs that the app did not ship.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
                           "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                           "form-action 'self'")
_PAGE_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
_IMMUTABLE = "public, max-age=31536000, immutable"


@router.get("/", dependencies=[Public], include_in_schema=False)
async def home(accept: Annotated[str, Header()] = "") -> Response:
    """Browsers get the app; Ollama clients probing the server get Ollama's answer."""
    if "text/html" not in accept:
        return PlainTextResponse("Ollama is running")
    page = await asyncio.to_thread(lambda: ASSETS.index_html)
    return Response(page, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


@router.get("/assets/{digest}/{name:path}", dependencies=[Public], include_in_schema=False)
async def asset(digest: Annotated[str, PathParam(max_length=64)],
                name: Annotated[str, PathParam(max_length=300)]) -> Response:
    """A file of the app; kept forever under the current digest, revalidated under any other
    (a page from before a deploy still loads while it is being replaced)."""
    # Both read files the first time (the digest covers all of them): off the event loop.
    path, current = await asyncio.to_thread(lambda: (ASSETS.find(name), ASSETS.digest))
    if path is None:
        raise NotFound(f"no asset {name!r}")
    cache = _IMMUTABLE if digest == current else "no-cache"
    return FileResponse(path, media_type=media_type(path), headers={
        "Cache-Control": cache, "X-Content-Type-Options": "nosniff"})

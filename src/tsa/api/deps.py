"""Request dependencies: the container, handed over through app state (no globals)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tsa.container import Container


async def get_container(request: Request) -> Container:
    # async: FastAPI runs a plain function dependency in its thread pool, a hand-off per request.
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]

"""``tsa ingest`` and ``tsa reindex --reparse``: queue documents, work on them, show their progress.

Progress is read back from the database, so the bars show what any worker does, this process's
or another machine's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from tsa.errors import TSAError
from tsa.jobs import JobPriority

POLL_S = 0.5
_BARS = 6  # documents shown at once; the overall bar counts the rest
_PROGRESS_SQL = """
SELECT id, source, status, stage, pages_done, pages_total, chunks_done, chunks_total, chunk_count, error
FROM documents WHERE id = ANY($1::uuid[])
"""


@dataclass
class Outcome:
    name: str
    status: str
    detail: str


@dataclass
class Followed:
    """Documents this command waits for, by id, with what became of each."""

    names: dict[uuid.UUID, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)


async def submit_files(container: Any, files: Iterable[Path], collection_id: int, followed: Followed) -> None:
    files = list(files)
    priority = JobPriority.UPLOAD if len(files) == 1 else JobPriority.BULK
    for path in files:
        try:
            data = await asyncio.to_thread(path.read_bytes)
            submission = await container.pipeline.submit(path.name, data, collection_id, priority=priority)
        except (TSAError, OSError) as exc:
            followed.outcomes.append(Outcome(path.name, "rejected", getattr(exc, "message", str(exc))))
            continue
        if submission.duplicate and submission.status == "ready":
            followed.outcomes.append(Outcome(path.name, "ready", "identical content already indexed"))
        else:
            followed.names[submission.document_id] = path.name


def _stage_text(row: Any) -> tuple[str, int, int | None]:
    if row["stage"] == "parsing":
        return "parsing", row["pages_done"], row["pages_total"]
    if row["stage"] == "embedding":
        return "embedding", row["chunks_done"], row["chunks_total"]
    return row["stage"], 0, None


async def follow(container: Any, followed: Followed, console: Console) -> None:
    """Bars until every followed document is ready or failed."""
    waiting = dict(followed.names)
    bars: dict[uuid.UUID, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        overall = progress.add_task("documents", total=len(waiting))
        while waiting:
            rows = await container.pool.fetch(_PROGRESS_SQL, list(waiting))
            present = {row["id"] for row in rows}
            for gone in set(waiting) - present:
                followed.outcomes.append(Outcome(waiting.pop(gone), "deleted", "deleted while queued"))
                progress.advance(overall)
            for row in rows:
                doc_id = row["id"]
                stage, done, total = _stage_text(row)
                if stage in ("ready", "failed"):
                    name = waiting.pop(doc_id)
                    detail = row["error"] or f"{row['chunk_count']} chunks"
                    followed.outcomes.append(Outcome(name, row["status"], detail))
                    if doc_id in bars:
                        progress.remove_task(bars.pop(doc_id))
                    progress.advance(overall)
                    continue
                if doc_id not in bars and len(bars) < _BARS and stage != "queued":
                    bars[doc_id] = progress.add_task("", total=None)
                if doc_id in bars:
                    progress.update(bars[doc_id], description=f"  {waiting[doc_id][:40]} · {stage}",
                                    completed=done, total=total or None)
            if waiting:
                await asyncio.sleep(POLL_S)


async def run_with_worker(container: Any, run_worker: bool, work: Any) -> None:
    """``work`` (a coroutine) with an in-process worker beside it unless ``run_worker`` is False."""
    from tsa.container import container_worker

    async with AsyncExitStack() as stack:
        if run_worker:
            await stack.enter_async_context(container_worker(container))
        await work

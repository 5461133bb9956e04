"""Pure decisions of the ingestion queue: retries, priorities, progress shown, chunk flags, editions' identity."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from procrastinate.jobs import Job

from tsa.api.routes.documents import document_json
from tsa.errors import BackendUnavailable, DocumentError
from tsa.jobs.worker import WorkerOptions, _Backoff, _priority_label
from tsa.records import Chunk, DocumentInfo
from tsa.store.documents import _ocr, product_identity


def _job(attempts: int) -> Job:
    return Job(id=1, queue="ingest", lock=None, queueing_lock=None, task_name="ingest_document", attempts=attempts,
               task_kwargs={"document_id": str(uuid.uuid4())})


def test_transient_trouble_is_retried_with_doubling_waits_until_the_last_attempt():
    backoff = _Backoff(WorkerOptions(max_attempts=4, retry_base_s=5, retry_max_s=12))
    waits = []
    for attempts in range(4):
        decision = backoff.get_retry_decision(exception=BackendUnavailable("down"), job=_job(attempts))
        waits.append(None if decision is None else round((decision.retry_at - dt.datetime.now(dt.UTC))
                                                         .total_seconds()))
    assert waits == [5, 10, 12, None]


def test_a_bad_file_is_never_retried_and_a_stopping_worker_hands_its_job_back_at_once():
    backoff = _Backoff(WorkerOptions())
    assert backoff.get_retry_decision(exception=DocumentError("corrupt"), job=_job(0)) is None
    assert backoff.get_retry_decision(exception=ValueError("a bug"), job=_job(0)) is None
    decision = backoff.get_retry_decision(exception=asyncio.CancelledError(), job=_job(9))
    assert abs((decision.retry_at - dt.datetime.now(dt.UTC)).total_seconds()) < 1


@pytest.mark.parametrize(("priority", "label"), [(10, "upload"), (3, "upload"), (0, "bulk"), (-10, "reparse")])
def test_priority_labels(priority, label):
    assert _priority_label(priority) == label


def _document(stage: str, moved_s_ago: float) -> DocumentInfo:
    now = dt.datetime.now(dt.UTC)
    return DocumentInfo(uuid.uuid4(), 1, "m.pdf", "M", "0" * 64, "pdf", "processing", None, 10, None, 0, now, now,
                        stage=stage, progress_at=now - dt.timedelta(seconds=moved_s_ago), job_id=7)


@pytest.mark.parametrize(("stage", "moved_s_ago", "stalled"), [
    ("embedding", 100, True), ("embedding", 5, False), ("parsing", 31, True),
    ("queued", 1000, False),  # waiting its turn is not stalling
])
def test_a_document_that_stops_moving_shows_it(stage, moved_s_ago, stalled):
    body = document_json(_document(stage, moved_s_ago), stalled_after_s=30)
    assert body["stalled"] is stalled and "job_id" not in body and body["superseded"] is False


def test_chunks_from_scanned_pages_are_flagged():
    assert _ocr(Chunk(0, "t", (), 3, 4), frozenset({4}))
    assert not _ocr(Chunk(0, "t", (), 1, 2), frozenset({4}))
    assert not _ocr(Chunk(0, "t", (), None, None), frozenset({1}))


def test_a_manual_is_named_by_its_title_whatever_the_case_and_spacing():
    assert product_identity("HF-22  Pump Service\nManual") == product_identity("hf-22 pump service manual")

"""The soak benchmark, shortened: a minute of open-loop load from several users with uploads and
deletions beside it, while one engine is killed and restarted and the embedded Redis is killed.
It asserts what must hold whatever the timings: no request lost, no 5xx other than the documented
503 with Retry-After, every accepted upload ended ready (or deleted) exactly once, no chunk stored
twice, no answer citing a document deleted before it was asked. Never a latency."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bench.soak import Mix, failures, short_schedule, soak

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SHORT = Mix(rate=8.0, duration_s=40.0, users=5, pool=60, uploads_per_minute=15.0, deletions_per_minute=6.0)


def test_a_shortened_soak_with_an_engine_kill_and_a_redis_restart_loses_nothing():
    run, found, log = asyncio.run(soak(SHORT, short_schedule))

    assert [phase for phase, _ in run.phases] == ["warm-up", "steady", "engine 1 down", "engine restarted",
                                                  "Redis killed (tsa serve restarts it)", "recovery"]
    questions = Counter(o.kind for o in run.outcomes)
    assert questions["cached"] + questions["uncached"] > 100, questions  # the load really ran
    assert [(o.phase, o.kind, o.status, o.detail) for o in failures(run)] == [], log
    assert len(run.uploaded) >= 8 and run.deleted, (run.uploaded, run.deleted)
    assert set(found.upload_statuses) <= {"ready", "deleted"}, found.upload_statuses
    assert found.upload_statuses["deleted"] == len(run.deleted)
    assert found.upload_statuses.total() == len(run.uploaded)
    assert found.listed_twice == 0
    assert found.duplicate_chunks == 0
    assert found.stale_answers == 0

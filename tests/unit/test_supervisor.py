"""The supervisor's decisions with stand-in children: restart the dead, back off while restarts fail."""

from __future__ import annotations

from tsa import metrics
from tsa.runtime.supervisor import Child, Supervisor, backoff_s


def test_backoff_doubles_up_to_its_cap():
    assert [backoff_s(n) for n in range(8)] == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


async def test_a_dead_child_is_restarted_and_a_failing_one_waits_its_back_off():
    now = [100.0]
    state = {"engine": False, "redis": True}
    attempts: list[str] = []

    def restart_engine() -> None:
        attempts.append("engine")
        if len(attempts) < 3:
            raise RuntimeError("port still in use")
        state["engine"] = True

    children = [Child("engine", lambda: state["engine"], restart_engine),
                Child("redis", lambda: state["redis"], lambda: attempts.append("redis"))]
    failed = metrics.EMBEDDED_RESTARTS.labels("engine", "failed")._value.get()
    ok = metrics.EMBEDDED_RESTARTS.labels("engine", "ok")._value.get()
    supervisor = Supervisor(children, clock=lambda: now[0])
    await supervisor.check_once()  # fails: next attempt after 1 s
    await supervisor.check_once()
    assert attempts == ["engine"]
    now[0] += 1.0
    await supervisor.check_once()  # fails again: 2 s
    now[0] += 1.0
    await supervisor.check_once()
    assert attempts == ["engine", "engine"]
    now[0] += 1.0
    await supervisor.check_once()  # succeeds
    await supervisor.check_once()  # alive: nothing to do
    assert attempts == ["engine", "engine", "engine"] and state["engine"]
    assert metrics.EMBEDDED_RESTARTS.labels("engine", "failed")._value.get() == failed + 2
    assert metrics.EMBEDDED_RESTARTS.labels("engine", "ok")._value.get() == ok + 1


def test_database_connection_failures_are_told_apart_from_bugs():
    import asyncpg

    from tsa.store.pool import database_down

    assert database_down(asyncpg.CannotConnectNowError("the database system is starting up"))
    assert database_down(asyncpg.ConnectionDoesNotExistError("connection was closed"))
    assert database_down(asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"))
    assert not database_down(ValueError("bad"))
    assert not database_down(ConnectionRefusedError("not from asyncpg"))  # no asyncpg frame in its traceback

"""Soak benchmark: the whole service under an open-loop load of many users, with faults on a schedule.

    python -m bench.soak [--topology embedded|replicas] [--rate 30] [--duration 120] [--users 30] [--pool 300]
    python -m bench.soak --knee [RATE ...] [--knee-seconds 20] [--topology ...]

Two topologies, both in front of four ``tsa engine --bench`` processes (bench-embed 5 ms per call,
bench-chat 16 tokens at 10 ms each) that the benchmark starts, kills and restarts itself:

- ``embedded``: one ``tsa serve`` on its embedded PostgreSQL and Redis, which it supervises. Faults:
  one engine killed, a second killed while the first is down, both restarted, the embedded Redis
  killed (``tsa serve`` restarts it), PostgreSQL's postmaster killed (the same).
- ``replicas`` (``bench.replicas``): as deployed — two ``tsa serve`` replicas on one PostgreSQL and one
  Redis, behind Debian's nginx with the compose file's gateway configuration. Faults: the engine
  kills and restarts, Redis restarted, a rolling restart of both replicas, PostgreSQL paused
  (SIGSTOP/SIGCONT on every one of its processes) for 5 s while uploads are being ingested, and
  1,500 connections through the gateway that send headers one byte at a time and never finish.

The load is open-loop: arrivals come at a fixed rate (Poisson gaps) whatever the answers take, so
queueing shows up as latency instead of slowing the load down. Each arrival is, by the mix:

- a question from a pool of ``pool`` with Zipf popularity (s = 1.1: a few asked all the time, a long
  tail asked once), asked by one of ``users`` users with their own API key, streamed;
- a follow-up in that user's conversation;
- a search;

and a few uploads (new small manuals) and deletions per minute run beside it.

Each fault is logged with its time. The report gives, per phase: offered and achieved rate;
p50/p95/p99 of cached answers, of uncached answers (first token and total) and of searches;
statuses; 5xx without ``Retry-After``; the deepest fleet queue seen on any replica; cache hit rates
per layer. After the run it checks that every upload ended ``ready`` exactly once, that no chunk is
stored twice, and that no answer cited a document deleted before the question was asked.

``--knee`` runs no faults: a steady load at each rate in turn, until cached answers' P95 crosses
130 ms (the seed's figure).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import itertools
import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench.common import UNLIMITED, Served, percentile, table, tsa_serve
from bench.replicas import Deployment, deployment, raise_open_files_limit, slow_headers
from tsa.runtime.children import stop
from tsa.runtime.engine_process import start_engine

TOPICS = ["impeller", "seal", "bearing", "coupling", "filter", "valve", "motor", "sensor", "gasket", "pump"]
FIELDS = ["torque", "clearance", "interval", "part number", "alarm", "pressure"]


@dataclass(frozen=True)
class Mix:
    rate: float = 30.0  # arrivals per second
    duration_s: float = 120.0
    users: int = 30
    pool: int = 300
    zipf_s: float = 1.1
    follow_up_share: float = 0.1
    search_share: float = 0.15
    uploads_per_minute: float = 4.0
    deletions_per_minute: float = 2.0


@dataclass
class Outcome:
    phase: str
    kind: str  # cached, uncached, search, follow-up, upload, delete
    status: int
    total_s: float
    first_s: float | None = None
    retry_after: bool = False
    sources: list[str] = field(default_factory=list)
    sent_at: float = 0.0
    detail: str = ""  # the body of an error answer, for the report
    repeat: bool = False  # the same question was asked before in this run


@dataclass
class Run:
    started: float = field(default_factory=time.monotonic)
    phase: str = "warm-up"
    phases: list[tuple[str, float]] = field(default_factory=list)  # (name, seconds from start)
    outcomes: list[Outcome] = field(default_factory=list)
    deleted: dict[str, float] = field(default_factory=dict)  # document id -> when its deletion returned
    uploaded: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    cache: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # phase -> layer -> counts
    queue: dict[str, float] = field(default_factory=dict)  # phase -> deepest fleet queue seen (all replicas)

    def now(self) -> float:
        return time.monotonic() - self.started

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.phases.append((phase, self.now()))


def manual(n: int, salt: str) -> str:
    topic = TOPICS[n % len(TOPICS)]
    return (f"# {topic.title()} unit U-{n} service manual ({salt})\n\n"
            + "".join(f"## {f.title()}\n\nThe {topic} {f} of unit U-{n} is {n * 7 + k} units; check it every "
                      f"{100 + k} hours.\n\n" for k, f in enumerate(FIELDS)))


def question(n: int) -> str:
    return f"What is the {FIELDS[n % len(FIELDS)]} of the {TOPICS[n % len(TOPICS)]} on unit U-{n % 40}? (q{n})"


def zipf_weights(pool: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (k ** s) for k in range(1, pool + 1)))


async def sse_answer(http: httpx.AsyncClient, headers: dict[str, str], body: dict) -> tuple[int, float | None, dict,
                                                                                              bool]:
    """Status, seconds to the first token (None without one), the ``done`` data (an error's body
    under ``error``), and whether Retry-After was sent."""
    started = time.perf_counter()
    first = None
    done: dict = {}
    async with http.stream("POST", "/api/rag-chat", json={**body, "stream": True}, headers=headers) as response:
        if response.status_code != 200:
            return response.status_code, None, {"error": (await response.aread()).decode()[:300]}, \
                "retry-after" in response.headers
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "token" and first is None:
                    first = time.perf_counter() - started
                elif event == "done":
                    done = json.loads(line[6:])
                elif event == "error":
                    return 502, first, {"error": line[6:300]}, False
    return 200, first, done, False


class Load:
    def __init__(self, served: Served, mix: Mix, run: Run, keys: list[str], rng: random.Random) -> None:
        self.served, self.mix, self.run, self.keys, self.rng = served, mix, run, keys, rng
        self.weights = zipf_weights(mix.pool, mix.zipf_s)
        self.asked: set[int] = set()
        # Idle connections are given up before uvicorn's 5 s keep-alive timeout closes them, or a
        # request sent as the server closes its connection is lost (httpx's expiry is also 5 s).
        self.http = httpx.AsyncClient(base_url=served.base, timeout=120,
                                      limits=httpx.Limits(max_connections=400, max_keepalive_connections=400,
                                                          keepalive_expiry=2.0))
        self.tasks: set[asyncio.Task[None]] = set()

    async def arrivals(self) -> None:
        deadline = self.mix.duration_s
        next_at = 0.0
        while next_at < deadline:
            await asyncio.sleep(max(0.0, next_at - self.run.now()))
            task = asyncio.create_task(self.one())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            next_at += self.rng.expovariate(self.mix.rate)

    async def one(self) -> None:
        user = self.rng.randrange(self.mix.users)
        headers = {"Authorization": f"Bearer {self.keys[user]}"}
        phase, sent = self.run.phase, self.run.now()
        pick = self.rng.random()
        started = time.perf_counter()
        try:
            if pick < self.mix.search_share:
                n = self.rng.randrange(self.mix.pool)
                response = await self.http.post("/api/search", json={"query": question(n)}, headers=headers)
                self.record(Outcome(phase, "search", response.status_code, time.perf_counter() - started,
                                    retry_after="retry-after" in response.headers, sent_at=sent,
                                    detail=response.text[:300] if response.status_code >= 400 else ""))
                return
            n = self.rng.choices(range(self.mix.pool), cum_weights=self.weights)[0]
            body: dict = {"query": question(n), "max_tokens": 16}
            kind = None
            if pick < self.mix.search_share + self.mix.follow_up_share:
                body = {"query": "And how often is it checked?", "max_tokens": 16,
                        "conversation_id": f"user-{user}"}
                kind = "follow-up"
            repeat = kind is None and n in self.asked
            self.asked.add(n)
            status, first, done, retry = await sse_answer(self.http, headers, body)
            if kind is None:
                kind = "cached" if done.get("cached", {}).get("inference") else "uncached"
            self.record(Outcome(phase, kind, status, time.perf_counter() - started, first, retry,
                                [s.get("document_id", "") for s in done.get("sources", [])], sent,
                                done.get("error", ""), repeat))
        except httpx.HTTPError as exc:
            self.record(Outcome(phase, "transport", 0, time.perf_counter() - started, sent_at=sent))
            self.run.faults.append(f"{self.run.now():6.1f} s  client error {type(exc).__name__}")

    def record(self, outcome: Outcome) -> None:
        self.run.outcomes.append(outcome)

    async def documents(self, admin: dict[str, str]) -> None:
        """Uploads and deletions at their own rates, beside the questions."""
        uploads = deletions = 0
        while self.run.now() < self.mix.duration_s:
            await asyncio.sleep(1.0)
            minutes = self.run.now() / 60
            while uploads < minutes * self.mix.uploads_per_minute:
                uploads += 1
                await self.upload(admin, 1000 + uploads)
            while deletions < minutes * self.mix.deletions_per_minute and len(self.run.uploaded) > deletions:
                await self.delete(admin, self.run.uploaded[deletions])
                deletions += 1

    async def upload(self, admin: dict[str, str], n: int) -> None:
        response = await self.timed("upload", self.http.post(
            "/api/documents", headers=admin, files={"file": (f"unit-{n}.md", manual(n, f"soak {n}").encode())}))
        if response is not None and response.status_code == 202:
            self.run.uploaded.append(response.json()["document_id"])

    async def delete(self, admin: dict[str, str], document_id: str) -> None:
        response = await self.timed("delete", self.http.delete(f"/api/documents/{document_id}", headers=admin))
        if response is not None and response.status_code == 204:
            self.run.deleted[document_id] = self.run.now()

    async def timed(self, kind: str, request: Awaitable[httpx.Response]) -> httpx.Response | None:
        """The response, recorded with its phase and time; None (recorded as status 0) when none came."""
        phase, started = self.run.phase, time.perf_counter()
        try:
            response = await request
        except httpx.HTTPError:
            self.record(Outcome(phase, kind, 0, time.perf_counter() - started))
            return None
        self.record(Outcome(phase, kind, response.status_code, time.perf_counter() - started,
                            retry_after="retry-after" in response.headers))
        return response

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=120)
        await self.http.aclose()


ENGINE_ARGS = ["--bench", "--bench-embed-ms", "5", "--bench-token-ms", "10"]


class Fleet:
    """The bench engines: started, killed and restarted on their ports."""

    def __init__(self, home: Path, count: int) -> None:
        self.home = home
        self.engines = [start_engine(home, 1, 0, 60.0, ENGINE_ARGS) for _ in range(count)]

    @property
    def urls(self) -> list[str]:
        return [url for url, _ in self.engines]

    def kill(self, n: int) -> None:
        self.engines[n][1].kill()
        self.engines[n][1].wait(10)

    def restart(self, n: int) -> None:
        url = self.engines[n][0]
        self.engines[n] = start_engine(self.home, 1, int(url.rsplit(":", 1)[1]), 60.0, ENGINE_ARGS)

    def stop(self) -> None:
        for _, process in self.engines:
            stop(process)


def _embedded(served: Served, marker: str) -> psutil.Process:
    return next(p for p in psutil.Process(served.pid).children(recursive=True) if marker in " ".join(p.cmdline()))


def _postmaster(served: Served) -> psutil.Process:
    assert served.home is not None
    return psutil.Process(int((served.home / "postgres" / "postmaster.pid").read_text().splitlines()[0]))


Step = tuple[float, str, Callable[[], object]]  # (fraction of the run, phase it starts, action)
Schedule = Callable[[Fleet, Any, "Load"], list[Step]]


def schedule(fleet: Fleet, served: Served, load: Load) -> list[Step]:
    """One ``tsa serve`` on its embedded PostgreSQL and Redis."""
    return [
        (0.10, "steady", lambda: None),
        (0.25, "engine 1 down", lambda: fleet.kill(0)),
        (0.35, "engines 1 and 2 down", lambda: fleet.kill(1)),
        (0.45, "engines restarted", lambda: (fleet.restart(0), fleet.restart(1))),
        (0.60, "Redis killed (tsa serve restarts it)", lambda: os.kill(_embedded(served, "redis-server").pid,
                                                                       signal.SIGKILL)),
        (0.75, "PostgreSQL killed (tsa serve restarts it)", lambda: os.kill(_postmaster(served).pid, signal.SIGKILL)),
        (0.85, "recovery", lambda: None),
    ]


def short_schedule(fleet: Fleet, served: Served, load: Load) -> list[Step]:
    """The test suite's shortened run: one engine killed and restarted, then Redis killed."""
    return [
        (0.10, "steady", lambda: None),
        (0.25, "engine 1 down", lambda: fleet.kill(0)),
        (0.45, "engine restarted", lambda: fleet.restart(0)),
        (0.60, "Redis killed (tsa serve restarts it)", lambda: os.kill(_embedded(served, "redis-server").pid,
                                                                       signal.SIGKILL)),
        (0.85, "recovery", lambda: None),
    ]


SLOW_CONNECTIONS = 1500


def deployed_schedule(fleet: Fleet, deployed: Deployment, load: Load) -> list[Step]:
    """Two replicas behind nginx on one PostgreSQL and one Redis: every fault of the issue's list."""
    async def pause_postgres_mid_ingestion() -> None:
        uploads = [asyncio.create_task(load.upload(deployed.admin_headers, 5000 + n)) for n in range(5)]
        await asyncio.sleep(0.5)  # accepted; their chunks are being embedded and written
        await asyncio.to_thread(deployed.pause_postgres, 5.0)
        await asyncio.gather(*uploads)

    async def slow_header_connections() -> asyncio.Task[None]:
        """Held through their phase, beside the load."""
        async def hold() -> None:
            hold_s = 0.15 * load.mix.duration_s
            held = await slow_headers(deployed.base, SLOW_CONNECTIONS, hold_s)
            load.run.faults.append(f"{load.run.now():6.1f} s  slow-header connections after {hold_s:.0f} s: {held}")
        return asyncio.create_task(hold())

    def rolling_restart() -> None:
        for n in range(len(deployed.replicas)):
            deployed.restart_replica(n)

    return [
        (0.10, "steady", lambda: None),
        (0.20, "engine 1 down", lambda: fleet.kill(0)),
        (0.27, "engines 1 and 2 down", lambda: fleet.kill(1)),
        (0.34, "engines restarted", lambda: (fleet.restart(0), fleet.restart(1))),
        (0.43, "Redis restarted", deployed.restart_redis),
        (0.52, "rolling restart of the replicas", rolling_restart),
        (0.63, "PostgreSQL paused 5 s mid-ingestion", pause_postgres_mid_ingestion),
        (0.72, f"{SLOW_CONNECTIONS} slow-header connections", slow_header_connections),
        (0.88, "recovery", lambda: None),
    ]


async def cache_counts(served: Served) -> dict[str, dict[str, int]]:
    async with httpx.AsyncClient(base_url=served.base, headers=served.headers, timeout=10) as http:
        try:
            layers = (await http.get("/api/advanced-cache-stats")).json()["layers"]
        except (httpx.HTTPError, ValueError, KeyError):
            return {}
    return {name: {"hits": v["hits"], "misses": v["misses"]} for name, v in layers.items()}


async def faults(run: Run, steps: list[Step], served: Served, duration_s: float) -> None:
    previous = await cache_counts(served)
    background: set[asyncio.Task[object]] = set()
    for fraction, phase, action in steps:
        await asyncio.sleep(max(0.0, fraction * duration_s - run.now()))
        counts = await cache_counts(served)
        run.cache[run.phase] = _delta(counts, previous)
        previous = counts
        run.faults.append(f"{run.now():6.1f} s  {phase}")
        run.enter(phase)
        # A coroutine function runs in the loop and may hand back a task that goes on beside the
        # load (awaited at the end); a plain function runs in a thread.
        started = await action() if inspect.iscoroutinefunction(action) else await asyncio.to_thread(action)
        if isinstance(started, asyncio.Task):
            background.add(started)
        run.faults.append(f"{run.now():6.1f} s  ({phase}: done)")
    await asyncio.sleep(max(0.0, duration_s - run.now()))
    run.cache[run.phase] = _delta(await cache_counts(served), previous)
    await asyncio.gather(*background)


async def queue_depths(run: Run, urls: list[str], duration_s: float) -> None:
    """The fleet's queue depth on every replica (``/metrics``), each second: the deepest per phase."""
    async with httpx.AsyncClient(timeout=2) as http:
        while run.now() < duration_s:
            depth = 0.0
            for url in urls:
                try:
                    text = (await http.get(url + "/metrics")).text
                except httpx.HTTPError:
                    continue  # a replica restarting
                depth += sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                             if line.startswith("tsa_fleet_queue_depth{"))
            run.queue[run.phase] = max(run.queue.get(run.phase, 0.0), depth)
            await asyncio.sleep(1.0)


def _delta(now: dict[str, dict[str, int]], before: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {layer: {k: v - before.get(layer, {}).get(k, 0) for k, v in counts.items()} for layer, counts in now.items()}


async def make_users(served: Served, count: int) -> list[str]:
    keys = []
    async with httpx.AsyncClient(base_url=served.base, headers=served.headers, timeout=30) as http:
        for n in range(count):
            user = (await http.post("/api/users", json={"username": f"tech-{n:02d}"})).json()
            keys.append((await http.post("/api/keys", json={"name": "soak", "user_id": user["id"]})).json()["token"])
    return keys


async def seed(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base, headers=served.headers, timeout=60) as http:
        ids = [(await http.post("/api/documents", files={"file": (f"unit-{n}.md", manual(n, "seed").encode())}))
               .json()["document_id"] for n in range(40)]
        for document_id in ids:
            for _ in range(600):
                if (await http.get(f"/api/documents/{document_id}")).json()["status"] != "processing":
                    break
                await asyncio.sleep(0.1)


@dataclass
class Checks:
    """What the run left behind, checked after it."""

    upload_statuses: Counter[str]  # of the accepted uploads: ready, failed, deleted, …
    listed_twice: int  # documents the listing shows more than once
    duplicate_chunks: int | None  # (document, ordinal) stored more than once; None if not read
    stale_answers: int  # answers citing a document deleted before they were asked

    def lines(self, accepted: int) -> list[str]:
        return [f"uploads: {accepted} accepted; now {dict(self.upload_statuses)}; "
                f"listed more than once: {self.listed_twice}",
                f"chunks stored twice: {self.duplicate_chunks}",
                f"answers citing a document deleted before they were asked: {self.stale_answers}"]


async def checks(served: Served, run: Run, database_url: str | None = None) -> Checks:
    """After the run: uploads, duplicate chunks, answers citing deleted documents."""
    statuses: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=served.base, headers=served.headers, timeout=60) as http:
        for document_id in run.uploaded:
            for _ in range(600):
                response = await http.get(f"/api/documents/{document_id}")
                if response.status_code == 404 or response.json()["status"] != "processing":
                    break
                await asyncio.sleep(0.2)
            statuses["deleted" if response.status_code == 404 else response.json()["status"]] += 1
        listed = [d["id"] for d in (await http.get("/api/documents", params={"limit": 1000})).json()
                  ["documents"]]
    log = (served.home / "serve.log").read_text() if served.home else ""
    # "PostgreSQL: <url>", which the console may wrap onto the next line.
    url = database_url or next((word for line in log.splitlines() for word in line.split()
                                if word.startswith("postgresql://")), None)
    duplicates = None
    if url:
        connection = await asyncpg.connect(url)
        try:
            duplicates = await connection.fetchval(
                "SELECT count(*) FROM (SELECT document_id, ordinal FROM chunks GROUP BY 1, 2 HAVING count(*) > 1) d")
        finally:
            await connection.close()
    stale = [o for o in run.outcomes for d in o.sources if d in run.deleted and run.deleted[d] < o.sent_at]
    return Checks(statuses, sum(1 for c in Counter(listed).values() if c > 1), duplicates, len(stale))


def _undocumented_5xx(outcome: Outcome) -> bool:
    return outcome.status >= 500 and not (outcome.status == 503 and outcome.retry_after)


def failures(run: Run) -> list[Outcome]:
    """Requests that got no answer, or a 5xx other than the documented 503 with Retry-After."""
    return [o for o in run.outcomes if o.status == 0 or _undocumented_5xx(o)]


def report(run: Run, mix: Mix) -> str:
    bounds = run.phases + [("end", mix.duration_s)]
    rows, status_rows, cache_rows = [], [], []
    for (phase, start), (_, end) in itertools.pairwise(bounds):
        seconds = max(end - start, 1e-9)
        mine = [o for o in run.outcomes if o.phase == phase]
        questions = [o for o in mine if o.kind in ("cached", "uncached", "follow-up", "search", "transport")]
        ok = [o for o in questions if o.status == 200]

        def stats(kind: str, first: bool = False) -> list[object]:
            values = [(o.first_s if first else o.total_s) * 1000 for o in mine
                      if o.kind == kind and o.status == 200 and (o.first_s is not None or not first)]
            return [len(values), *(round(percentile(values, q), 1) for q in (50, 95, 99))] if values else [0, "-",
                                                                                                          "-", "-"]

        rows.append([phase, f"{start:.0f}–{end:.0f}", round(len(questions) / seconds, 1), round(len(ok) / seconds, 1),
                     *stats("cached"), *stats("uncached", first=True)[1:], *stats("uncached")[1:],
                     *stats("search")[1:]])
        statuses = Counter(o.status for o in mine)
        status_rows.append([phase, ", ".join(f"{s}: {c}" for s, c in sorted(statuses.items())),
                            sum(map(_undocumented_5xx, mine)),
                            f"{run.queue[phase]:.0f}" if phase in run.queue else "-"])
        layers = run.cache.get(phase, {})
        repeats = [o for o in mine if o.repeat and o.status == 200 and o.kind in ("cached", "uncached")]
        cache_rows.append([phase, *(f"{_rate(layers.get(layer, {})):.1%}" for layer in ("embedding", "chunks",
                                                                                         "inference")),
                           f"{sum(o.kind == 'cached' for o in repeats) / len(repeats):.1%} of {len(repeats)}"
                           if repeats else "-"])
    answered = [o for o in run.outcomes if o.kind in ("cached", "uncached") and o.status == 200]
    repeated = [o for o in answered if o.repeat]
    out = [table(["phase", "s", "offered/s", "answered/s", "cached n", "cached p50", "p95", "p99",
                  "uncached first token p50", "p95", "p99", "uncached total p50", "p95", "p99",
                  "search p50", "p95", "p99"], rows),
           table(["phase", "statuses (0: no response)", "5xx without Retry-After", "deepest fleet queue"],
                 status_rows),
           table(["phase", "embedding hit rate", "chunks hit rate", "answer hit rate",
                  "repeated questions answered from the cache"], cache_rows),
           f"Questions answered from the answer cache: {sum(o.kind == 'cached' for o in answered)} of "
           f"{len(answered)} ({sum(o.kind == 'cached' for o in answered) / max(1, len(answered)):.1%}); "
           f"of the questions asked before in the run (the repeated share, {len(repeated) / max(1, len(answered)):.1%} "
           f"of the mix): {sum(o.kind == 'cached' for o in repeated) / max(1, len(repeated)):.1%}."]
    if failed := failures(run):
        out.append("Requests without an answer or with a 5xx other than 503 + Retry-After:\n\n" + "\n".join(
            f"    {o.sent_at:6.1f} s  {o.kind} {o.status}: {o.detail}" for o in failed[:10]))
    return "\n\n".join(out)


def _rate(counts: dict[str, int]) -> float:
    total = counts.get("hits", 0) + counts.get("misses", 0)
    return counts.get("hits", 0) / total if total else 0.0


ENGINE_ENV = {"EMBEDDING_MODEL": "bench-embed", "CHAT_MODEL": "bench-chat", "MIN_SIMILARITY": "-1",
              "HEALTH_INTERVAL_S": "1", **UNLIMITED}


async def _engines(run_name: str) -> tuple[Path, Fleet, dict[str, str]]:
    """A kept home for the run's logs, four bench engines started in it, and tsa's settings for them."""
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"tsa-{run_name}-{os.getpid()}"
    home.mkdir(parents=True, exist_ok=True)
    fleet = await asyncio.to_thread(Fleet, home, 4)
    return home, fleet, {"OLLAMA_INSTANCES": ",".join(fleet.urls), **ENGINE_ENV}


async def soak(mix: Mix, plan: Schedule = schedule, seed_value: int = 7, topology: str = "embedded"
               ) -> tuple[Run, Checks, Path]:
    """Run the load with the faults of ``plan`` on one embedded ``tsa serve`` or on the deployed
    topology (``replicas``); the run, the checks after it, and where the logs were kept."""
    run = Run()
    home, fleet, env = await _engines("soak")
    try:
        if topology == "replicas":
            raise_open_files_limit()
            with deployment(home / "deployed", env) as deployed:
                served = deployed.served()
                found = await _run_load(run, mix, plan, seed_value, fleet, served, deployed,
                                        [f"http://127.0.0.1:{r.port}" for r in deployed.replicas],
                                        deployed.database_url)
            return run, found, home / "deployed"
        with tsa_serve(env) as served:
            found = await _run_load(run, mix, plan, seed_value, fleet, served, served, [served.base], None)
            if served.home is not None:  # kept: tsa serve's home goes with the run
                (home / "serve.log").write_text((served.home / "serve.log").read_text())
        return run, found, home / "serve.log"
    finally:
        await asyncio.to_thread(fleet.stop)


async def _run_load(run: Run, mix: Mix, plan: Schedule, seed_value: int, fleet: Fleet, served: Served,
                    target: object, replicas: list[str], database_url: str | None) -> Checks:
    await seed(served)
    keys = await make_users(served, mix.users)
    load = Load(served, mix, run, keys, random.Random(seed_value))
    run.started = time.monotonic()
    run.enter("warm-up")  # the caches fill; "steady" is the schedule's first step
    await asyncio.gather(load.arrivals(), load.documents(served.headers), queue_depths(run, replicas, mix.duration_s),
                         faults(run, plan(fleet, target, load), served, mix.duration_s))
    await load.drain()
    return await checks(served, run, database_url)


async def knee(rates: list[float], seconds: float, topology: str = "replicas", ceiling_ms: float = 130.0) -> str:
    """Steady load at rising rates, no faults: cached answers' latency at each, up to the first rate
    whose P95 crosses ``ceiling_ms`` (the seed's P95 figure)."""
    home, fleet, env = await _engines("knee")
    rows: list[list[object]] = []
    try:
        with deployment(home / "deployed", env) if topology == "replicas" else tsa_serve(env) as target:
            served = target.served() if isinstance(target, Deployment) else target
            await seed(served)
            keys = await make_users(served, 30)
            for step, rate in enumerate([rates[0], *rates]):  # the first pass warms the caches, unreported
                mix = Mix(rate=rate, duration_s=seconds, uploads_per_minute=0, deletions_per_minute=0)
                run = Run()
                load = Load(served, mix, run, keys, random.Random(int(rate)))
                run.enter("steady")
                await load.arrivals()
                await load.drain()
                if not step:
                    continue
                cached = [o.total_s * 1000 for o in run.outcomes if o.kind == "cached" and o.status == 200]
                answered = [o for o in run.outcomes if o.status == 200]
                rows.append([rate, round(len(run.outcomes) / seconds, 1), round(len(answered) / seconds, 1),
                             len(cached), *(round(percentile(cached, q), 1) for q in (50, 95, 99))])
                if cached and percentile(cached, 95) > ceiling_ms:
                    break
    finally:
        await asyncio.to_thread(fleet.stop)
    return table(["offered/s", "sent/s", "answered 200/s", "cached n", "cached p50 ms", "p95 ms", "p99 ms"], rows)


def full_report(mix: Mix, run: Run, found: Checks, log: Path) -> str:
    return "\n\n".join([report(run, mix), "Faults:\n\n" + "\n".join(f"    {f}" for f in run.faults),
                         "After the run:\n\n" + "\n".join(f"- {f}" for f in found.lines(len(run.uploaded))),
                         f"Logs: {log}"])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--pool", type=int, default=300)
    parser.add_argument("--topology", choices=["embedded", "replicas"], default="embedded",
                        help="one embedded tsa serve, or two replicas behind nginx on one PostgreSQL and Redis")
    parser.add_argument("--knee", type=float, nargs="*", metavar="RATE",
                        help="no faults: steady load at each rate until cached P95 crosses 130 ms")
    parser.add_argument("--knee-seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.knee is not None:
        rates = args.knee or [30, 60, 90, 120, 150, 180, 240]
        print(f"# Knee — {args.topology}, {args.knee_seconds:g} s per rate\n")
        print(await knee(rates, args.knee_seconds, args.topology))
        return
    mix = Mix(rate=args.rate, duration_s=args.duration, users=args.users, pool=args.pool)
    plan = deployed_schedule if args.topology == "replicas" else schedule
    print(f"# Soak — {args.topology}, {args.rate:g} arrivals/s for {args.duration:g} s, {args.users} users, "
          f"pool of {args.pool}\n")
    print(full_report(mix, *await soak(mix, plan, topology=args.topology)))


if __name__ == "__main__":
    asyncio.run(main())

"""The fleet: routes each embedding and chat call to one LLM instance, retries elsewhere on failure,
queues when every instance is full, and keeps what it learns about each instance."""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tsa import metrics
from tsa.errors import BackendError, BackendUnavailable, FleetSaturated, NotFound, TSAError, UnknownModel
from tsa.fleet.admission import AdmissionQueue, Priority
from tsa.fleet.budget import Budget
from tsa.fleet.gauges import forget, publish_queue, publish_state
from tsa.fleet.client import ClientTimeouts, Embeddings, OllamaClient
from tsa.fleet.openai_client import OpenAIClient
from tsa.fleet.instance import ROUTABLE, Instance, InstanceConfig, State
from tsa.fleet.outliers import EjectionPolicy, Failure, record_failure, record_success
from tsa.fleet.policy import candidates, choose
from tsa.fleet.prober import HealthProber
from tsa.fleet.stats import Ewma
from tsa.fleet.stream import Batch, ChatStream, RelayTally
from tsa.model_names import canonical_name
from tsa.wait_guard import WaitGuard, WaitTimedOut

T = TypeVar("T")


@dataclass(frozen=True)
class FleetOptions:
    max_attempts: int = 3
    retry_budget_ratio: float = 0.2
    queue_max_waiting: int = 256
    queue_timeout_s: float = 30.0
    bulk_queue_timeout_s: float = 600.0
    stream_stall_timeout_s: float = 60.0
    stream_deadline_s: float = 900.0  # a whole generation, however steadily it streams
    health_interval_s: float = 10.0
    hedge_embeddings: bool = False
    hedge_budget_ratio: float = 0.1
    ejection: EjectionPolicy = field(default_factory=EjectionPolicy)


@dataclass(frozen=True)
class EmbedResult:
    embeddings: list[list[float]]
    instance: str


@dataclass
class _ChatLease:
    """The instance slot and upstream stream of one open chat; ended exactly once."""

    instance: Instance
    model: str
    upstream: AsyncIterator[Batch]
    started: float
    limit: int | None = None  # tokens the caller asked for at most
    ended: bool = False
    # Starts the rest of a chat on another instance, given the text streamed so far (None: cannot).
    resume: Callable[[Instance, str, int], AsyncIterator[Batch]] | None = None
    priority: Priority = Priority.INTERACTIVE


def token_limit(options: dict[str, Any] | None) -> int | None:
    """The caller's ``num_predict``, when it sets a positive one (Ollama: negative means no limit)."""
    value = options.get("num_predict") if isinstance(options, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class _NoCandidate(Exception):
    pass


def _failure_of(exc: Exception) -> Failure | None:
    """How a failed call counts against the instance; None when it was the request's fault."""
    if isinstance(exc, BackendUnavailable):
        return {"timeout": Failure.TIMEOUT, "busy": Failure.BUSY}.get(exc.reason, Failure.CONNECT)
    if isinstance(exc, BackendError) and exc.instance_fault:
        return Failure.SERVER
    return None


def _unsent(exc: Exception | None) -> bool:
    return isinstance(exc, BackendUnavailable) and exc.unsent


class Fleet:
    def __init__(self, configs: Sequence[InstanceConfig], options: FleetOptions | None = None,
                 timeouts: ClientTimeouts | None = None, *, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        if not configs:
            raise ValueError("a fleet needs at least one instance")
        self.options = options or FleetOptions()
        self.timeouts = timeouts or ClientTimeouts()
        self.instances: list[Instance] = []
        self.queue = AdmissionQueue(self.options.queue_max_waiting, on_change=publish_queue)
        publish_queue(self.queue)  # 0 from the start, not absent until the first wait
        self.retry_budget = Budget(self.options.retry_budget_ratio)
        self.hedge_budget = Budget(self.options.hedge_budget_ratio, cap=2.0, tokens=2.0)
        self._clock = clock
        self._rng = rng or random.Random()
        self._prober = HealthProber(self, self.options.health_interval_s, self.options.ejection, clock)
        self.retries = 0
        self._removing: set[str] = set()
        for config in configs:
            self.add(config)

    # --- membership -------------------------------------------------------------------------

    def add(self, config: InstanceConfig) -> Instance:
        if any(i.name == config.name for i in self.instances):
            raise ValueError(f"an instance named {config.name!r} is already in the fleet")
        if any(i.url == config.url for i in self.instances):
            raise ValueError(f"{config.url} is already in the fleet")
        client_class = OpenAIClient if config.api == "openai" else OllamaClient
        instance = Instance(config, client_class(config.url, self.timeouts))
        self.instances.append(instance)
        metrics.zero_instance_labels(instance.name)
        publish_state(instance)
        return instance

    def get(self, name: str) -> Instance:
        for instance in self.instances:
            if instance.name == name:
                return instance
        raise NotFound(f"no instance named {name!r} in the fleet")

    def drain(self, name: str) -> Instance:
        instance = self.get(name)
        instance.state = State.DRAINING
        publish_state(instance)
        return instance

    def undrain(self, name: str) -> Instance:
        """Take a drained instance back; it is routable again until its next probe says otherwise."""
        instance = self.get(name)
        if name in self._removing:
            raise ValueError(f"instance {name!r} is being removed")
        if instance.state is State.DRAINING:
            instance.state = State.UNKNOWN
            publish_state(instance)
            self.on_capacity_change()
        return instance

    async def remove(self, name: str) -> None:
        """Drain, wait for calls in flight to finish, then forget the instance."""
        instance = self.drain(name)
        self._removing.add(name)
        while instance.in_flight:
            await asyncio.sleep(0.05)
        self.instances.remove(instance)
        self._removing.discard(name)
        await instance.client.aclose()
        forget(instance)

    async def start(self, background: bool = True) -> None:
        """Probe every instance once, then keep probing in the background (tests step ``prober`` by hand)."""
        await self._prober.probe_all()
        if background:
            self._prober.start()

    @property
    def prober(self) -> HealthProber:
        return self._prober

    async def aclose(self) -> None:
        await self._prober.stop()
        for instance in self.instances:
            await instance.client.aclose()
            forget(instance)  # a closed fleet leaves no gauges claiming its instances' state

    async def probe(self) -> list[dict[str, Any]]:
        return await self._prober.live_summary()

    async def probe_instance(self, instance: Instance) -> bool:
        return await self._prober.probe(instance)

    def fan_out_width(self, model: str, kind: str) -> int:
        """How many calls of this kind the routable instances take at once."""
        pool, _ = candidates(self.instances, canonical_name(model), kind)
        return max(1, sum(i.config.max_concurrency for i in pool))

    # --- slots --------------------------------------------------------------------------------

    def _take(self, instance: Instance) -> None:
        instance.in_flight += 1
        instance.total_requests += 1
        metrics.FLEET_IN_FLIGHT.labels(instance.name).set(instance.in_flight)

    def _release(self, instance: Instance) -> None:
        instance.in_flight -= 1
        metrics.FLEET_IN_FLIGHT.labels(instance.name).set(instance.in_flight)
        self.queue.dispatch()

    def on_capacity_change(self) -> None:
        """An instance came back or joined: queued calls may now fit."""
        self.queue.dispatch()

    async def _acquire(self, model: str, kind: str, priority: Priority, tried: list[Instance]) -> Instance:
        def untried(found: list[Instance]) -> list[Instance]:
            return [i for i in found if all(i is not t for t in tried)] if tried else found

        found, panic = candidates(self.instances, model, kind)
        now_untried = untried(found)
        if not now_untried:
            raise _NoCandidate
        if panic:
            metrics.FLEET_PANIC_ROUTES.inc()

        def pick(pool: list[Instance] | None = None) -> Instance | None:
            # From the queue, later: the fleet may have changed meanwhile, so look again.
            pool = untried(candidates(self.instances, model, kind)[0]) if pool is None else pool
            instance = choose(pool, model, kind, self._rng, now=self._clock())
            if instance is not None:
                self._take(instance)
            return instance

        if not self.queue.has_waiters_before(priority) and (instance := pick(now_untried)) is not None:
            return instance
        if self.queue.full():
            raise self._saturated("queue_full")
        timeout = self.options.bulk_queue_timeout_s if priority is Priority.BULK else self.options.queue_timeout_s
        try:
            return await self.queue.wait(priority, pick, self._release, timeout)
        except TimeoutError:
            raise self._saturated("queue_timeout") from None

    def _saturated(self, reason: str) -> FleetSaturated:
        metrics.FLEET_REJECTIONS.labels(reason).inc()
        capacity = sum(i.config.max_concurrency for i in self.instances if i.state in ROUTABLE) or 1
        typical = [m for i in self.instances if (m := i.window.mean()) is not None]
        per_call_s = sum(typical) / len(typical) if typical else 1.0
        retry_after = max(1, round(per_call_s * (len(self.queue) + 1) / capacity))
        return FleetSaturated(f"every LLM instance is busy ({reason.replace('_', ' ')}); retry in "
                              f"{retry_after} s", retry_after)

    # --- outcomes -----------------------------------------------------------------------------

    def _succeeded(self, instance: Instance, model: str, kind: str, seconds: float, load_s: float = 0.0) -> None:
        instance.successful_requests += 1
        now = self._clock()
        if load_s > 0:
            instance.load_time.setdefault(model, _new_ewma()).add(load_s, now)
            seconds = max(seconds - load_s, 0.0)  # the load is priced separately (policy.cold_cost)
        if (model, kind) not in instance.latency:
            # Start from the fleet's view, so one odd first call does not define the instance.
            known = [v for i in self.instances if (v := i.expected_latency(model, kind)) is not None]
            instance.latency[(model, kind)] = _new_ewma(statistics.median(known) if known else None)
        instance.latency[(model, kind)].add(seconds, now)
        instance.window.add(seconds)
        instance.models_loaded.add(model)
        record_success(instance)
        metrics.FLEET_REQUESTS.labels(instance.name, kind, "success").inc()
        metrics.FLEET_MODELS_LOADED.labels(instance.name).set(len(instance.models_loaded))

    def _failed(self, instance: Instance, kind: str, exc: BaseException) -> None:
        if isinstance(exc, asyncio.CancelledError):
            metrics.FLEET_REQUESTS.labels(instance.name, kind, "cancelled").inc()
            return
        failure = _failure_of(exc) if isinstance(exc, Exception) else None
        outcome = {Failure.CONNECT: "unavailable", Failure.TIMEOUT: "timeout", Failure.SERVER: "error",
                   Failure.BUSY: "busy", None: "client_error"}[failure]
        if isinstance(exc, UnknownModel):
            outcome = "model_missing"
        metrics.FLEET_REQUESTS.labels(instance.name, kind, outcome).inc()
        if failure is None:
            return
        instance.failed_requests += 1
        instance.last_error = str(exc)
        if record_failure(instance, failure, self.instances, self.options.ejection, self._clock()):
            metrics.FLEET_EJECTIONS.labels(instance.name).inc()
            publish_state(instance)

    async def _call(self, model: str, kind: str, priority: Priority, attempt: Callable[[Instance], Awaitable[T]],
                    exclude: Sequence[Instance] = ()) -> tuple[Instance, T, float]:
        """Run ``attempt`` on a routed instance (never one in ``exclude``), retrying elsewhere on
        instance failures.

        Returns with the instance's slot still held; the caller releases it.
        """
        routed = canonical_name(model)
        tried: list[Instance] = list(exclude)
        last_error: Exception | None = None
        self.retry_budget.deposit()
        # A call refused before it was sent is retried transparently, as gRPC does: it cost the
        # instance nothing, so it spends neither an attempt nor the retry budget; trying each instance
        # at most once still bounds it. This carries calls past instances killed since the last probe.
        sent = 0
        while sent < self.options.max_attempts:
            if last_error is not None and not _unsent(last_error):
                if not self.retry_budget.try_spend():
                    break
                self.retries += 1
                metrics.FLEET_RETRIES.labels(kind).inc()
            try:
                instance = await self._acquire(routed, kind, priority, tried)
            except _NoCandidate:
                break
            tried.append(instance)
            started = self._clock()
            try:
                result = await attempt(instance)
            except UnknownModel as exc:  # stale /api/tags: not the instance's fault
                instance.models_missing.add(routed)
                self._failed(instance, kind, exc)
                self._release(instance)
                last_error, sent = exc, sent + 1
                continue
            except BaseException as exc:
                self._failed(instance, kind, exc)
                self._release(instance)
                if isinstance(exc, Exception) and _failure_of(exc) is not None:
                    last_error, sent = exc, sent + (not _unsent(exc))
                    continue
                raise
            return instance, result, self._clock() - started
        raise last_error or self._no_instance_error(routed, kind)

    def _no_instance_error(self, model: str, kind: str) -> Exception:
        serving = [i for i in self.instances if i.serves(kind)]
        if serving and all(not i.may_have(model) for i in serving):
            known = sorted({m for i in serving for m in (i.models_available or ())})
            return UnknownModel(f"no LLM instance has model {model!r}; available: {', '.join(known) or 'none'}")
        return BackendUnavailable(f"no LLM instance can take {kind} calls for {model!r} right now")

    # --- calls --------------------------------------------------------------------------------

    async def embed(self, model: str, texts: list[str], priority: Priority = Priority.INTERACTIVE) -> EmbedResult:
        async def attempt(instance: Instance) -> Embeddings:
            if self.options.hedge_embeddings:
                return await self._hedged_embed(instance, model, texts)
            return await instance.client.embed(model, texts)

        instance, result, seconds = await self._call(model, "embed", priority, attempt)
        self._succeeded(instance, canonical_name(model), "embed", seconds, result.load_s)
        metrics.FLEET_DURATION.labels(instance.name, "embed").observe(seconds)
        self._release(instance)
        return EmbedResult(result.vectors, instance.url)

    async def open_chat(self, model: str, messages: list[dict[str, Any]], options: dict[str, Any] | None = None,
                        priority: Priority = Priority.INTERACTIVE, extra: dict[str, Any] | None = None) -> ChatStream:
        """Start a chat stream; fails over to another instance before the first byte, and after it
        carries the chat on elsewhere if its instance dies (``_resume``)."""
        limit = token_limit(options)

        def resume(instance: Instance, text: str, tokens: int) -> AsyncIterator[Batch]:
            # A final assistant message is continued, not answered (Ollama's prefill).
            prefilled = [*messages, {"role": "assistant", "content": text}]
            rest = {**(options or {}), "num_predict": max(1, limit - tokens)} if limit else options
            return instance.client.chat_batches(model, prefilled, rest, extra)

        return await self._open_stream(model, priority,
                                       lambda instance: instance.client.chat_batches(model, messages, options, extra),
                                       limit, resume)

    async def open_generate(self, model: str, request: dict[str, Any],
                            priority: Priority = Priority.INTERACTIVE) -> ChatStream:
        """Ollama's ``/api/generate`` on the best instance, as a stream, like a chat (same slots,
        failover before the first byte, stall guard, cancellation)."""
        return await self._open_stream(model, priority,
                                       lambda instance: instance.client.generate_batches(model, request),
                                       token_limit(request.get("options")))

    async def show(self, model: str) -> dict[str, Any]:
        """``/api/show`` from an instance that has the model (the first that answers)."""
        wanted = canonical_name(model)
        holders = [i for i in self.instances if i.state in ROUTABLE and i.models_available
                   and wanted in i.models_available]
        for instance in holders:
            try:
                return await instance.client.show(model)
            except (BackendError, BackendUnavailable):
                continue
        raise UnknownModel(f"model {model!r} not found")

    def _targets(self, names: Sequence[str] | None) -> list[Instance]:
        return [self.get(name) for name in names] if names else list(self.instances)

    def pull(self, model: str, names: Sequence[str] | None = None) -> AsyncIterator[dict[str, Any]]:
        """Pull a model onto the named instances (all when none are named), at once: their progress
        lines as they come, each with its ``instance``, and one last line per instance (``success``,
        or ``error`` with why). The fleet learns what each instance now has before the stream ends.
        An unknown instance name fails here, before anything starts."""
        return self._pull_lines(model, self._targets(names))

    async def _pull_lines(self, model: str, targets: list[Instance]) -> AsyncIterator[dict[str, Any]]:
        lines: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        async def one(instance: Instance) -> None:
            try:
                async for step in instance.client.pull(model):
                    await lines.put({**step, "instance": instance.name})
            except UnknownModel as exc:
                await lines.put({"instance": instance.name, "status": "error", "error": exc.message,
                                 "not_found": True})
            except (BackendError, BackendUnavailable) as exc:
                await lines.put({"instance": instance.name, "status": "error", "error": exc.message})
            finally:
                await lines.put(None)

        tasks = [asyncio.create_task(one(instance)) for instance in targets]
        try:
            remaining = len(tasks)
            while remaining:
                line = await lines.get()
                if line is None:
                    remaining -= 1
                else:
                    yield line
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._prober.probe_all()

    async def delete(self, model: str, names: Sequence[str] | None = None) -> dict[str, str]:
        """Delete a model from the named instances (all when none are named): what each said."""
        async def one(instance: Instance) -> str:
            try:
                await instance.client.delete(model)
                return "deleted"
            except UnknownModel:
                return "not found"
            except (BackendError, BackendUnavailable) as exc:
                return f"error: {exc.message}"

        targets = self._targets(names)
        said = await asyncio.gather(*(one(instance) for instance in targets))
        await self._prober.probe_all()
        return {instance.name: outcome for instance, outcome in zip(targets, said, strict=True)}

    def listed(self) -> list[dict[str, Any]]:
        """Every model some instance has, once each, as an ``/api/tags`` entry: what the first instance
        listing it said of it (size, digest, details), under the fleet's name for it."""
        found: dict[str, dict[str, Any]] = {}
        for instance in self.instances:
            for name, entry in instance.model_entries.items():
                found.setdefault(name, {**entry, "name": name, "model": name})
        return [found[name] for name in sorted(found)]

    async def loaded(self) -> list[dict[str, Any]]:
        """The models loaded on the routable instances now (``/api/ps`` of each, one entry per model)."""
        reachable = [i for i in self.instances if i.state in ROUTABLE]
        answers = await asyncio.gather(*(i.client.ps() for i in reachable), return_exceptions=True)
        found: dict[str, dict[str, Any]] = {}
        for answer in answers:
            if isinstance(answer, BaseException):
                continue
            for entry in answer:
                found.setdefault(entry.get("name") or entry.get("model", ""), entry)
        return [found[name] for name in sorted(found) if name]

    async def _first_batch(self, model: str, priority: Priority, start: Callable[[Instance], AsyncIterator[Batch]],
                           exclude: Sequence[Instance] = ()) -> tuple[Instance, AsyncIterator[Batch], Batch]:
        """A stream started on the best instance that gives its first chunks (failing over before them)."""
        async def attempt(instance: Instance) -> tuple[AsyncIterator[Batch], Batch]:
            batches = start(instance)
            try:
                return batches, await anext(batches)
            except BaseException:
                await batches.aclose()  # type: ignore[attr-defined]
                raise

        instance, (batches, first), ttft = await self._call(model, "chat", priority, attempt, exclude)
        # Ollama reports the load time only in the final chunk; until then a cold first
        # token is taken at face value, and the relay corrects the load estimate at the end.
        self._succeeded(instance, canonical_name(model), "chat", ttft)
        return instance, batches, first

    async def _open_stream(self, model: str, priority: Priority, start: Callable[[Instance], AsyncIterator[Batch]],
                           limit: int | None = None,
                           resume: Callable[[Instance, str, int], AsyncIterator[Batch]] | None = None) -> ChatStream:
        started = self._clock()
        instance, batches, first = await self._first_batch(model, priority, start)
        lease = _ChatLease(instance, canonical_name(model), batches, started, limit, resume=resume, priority=priority)
        return ChatStream(instance.name, self._relay(lease, first),
                          lambda: self._end_chat(lease, asyncio.CancelledError()))

    async def _relay(self, lease: _ChatLease, first: Batch) -> AsyncIterator[Batch]:
        """The rest of a stream, batch by batch, with a stall guard, an overall deadline and the
        caller's token limit enforced here (an instance that ignores ``num_predict`` is cut off); the
        lease ends however the stream does."""
        instance = lease.instance
        ended_by: BaseException | None = None
        stall_s = self.options.stream_stall_timeout_s
        guard = WaitGuard(stall_s, lease.started + self.options.stream_deadline_s - self._clock())
        tally = RelayTally(first[0], lease.limit)
        finished = False  # the final chunk is handed over: however the consumer lets go now, it ended well
        try:
            batch = first
            while True:
                relayed, final = tally.admit(batch)
                if final is not None and (load_ns := final.get("load_duration", 0)) > 0:
                    instance.load_time.setdefault(lease.model, _new_ewma()).add(load_ns / 1e9, self._clock())
                if relayed:
                    finished = final is not None
                    yield relayed
                if final is not None:
                    break
                try:
                    # In this task, not another: a time-out reaches the stream itself, which closes.
                    batch = await guard.wait(anext(lease.upstream))
                except WaitTimedOut as timed_out:
                    if timed_out.reason == "deadline":
                        raise BackendError(f"{instance.url} did not finish within the "
                                           f"{self.options.stream_deadline_s:g} s deadline") from None
                    raise BackendError(f"{instance.url} stalled: no token for {stall_s:g} s") from None
                except BackendUnavailable as lost:  # the instance went away mid-stream
                    if lease.resume is None:
                        raise
                    tally.resumed_after = tally.tokens
                    batch = await self._resume(lease, lease.resume, "".join(tally.text), tally.tokens, lost)
                    instance = lease.instance
        except BaseException as exc:
            ended_by = None if finished else exc
            raise
        finally:
            guard.close()
            await self._end_chat(lease, ended_by)

    async def _resume(self, lease: _ChatLease, resume: Callable[[Instance, str, int], AsyncIterator[Batch]],
                      text: str, tokens: int, lost: BackendUnavailable) -> Batch:
        """Carry a chat whose instance died mid-stream on to another, which continues the text so far
        (sent as a final assistant message): the client sees one unbroken answer. Returns the new
        instance's first chunks; raises ``lost`` when no instance can take over."""
        dead = lease.instance
        with contextlib.suppress(Exception):
            await lease.upstream.aclose()  # type: ignore[attr-defined]
        self._failed(dead, "chat", lost)
        self._release(dead)
        lease.ended = True  # until another instance holds it, there is no slot to release
        try:
            # Only Ollama continues a final assistant message; OpenAI-protocol servers would start a new one.
            others = [i for i in self.instances if not isinstance(i.client, OllamaClient)]
            instance, batches, first = await self._first_batch(lease.model, lease.priority,
                                                               lambda i: resume(i, text, tokens), [dead, *others])
        except TSAError:
            raise lost from None
        lease.instance, lease.upstream, lease.ended = instance, batches, False
        metrics.FLEET_RESUMED_STREAMS.labels(dead.name).inc()
        return first

    async def _end_chat(self, lease: _ChatLease, ended_by: BaseException | None) -> None:
        if lease.ended:
            return
        lease.ended = True
        instance = lease.instance
        try:
            await lease.upstream.aclose()  # type: ignore[attr-defined]
        finally:
            if ended_by is None:
                metrics.FLEET_DURATION.labels(instance.name, "chat").observe(self._clock() - lease.started)
            elif isinstance(ended_by, GeneratorExit | asyncio.CancelledError):  # the client left
                metrics.FLEET_REQUESTS.labels(instance.name, "chat", "cancelled").inc()
            else:
                self._failed(instance, "chat", ended_by)
            self._release(instance)

    async def _hedged_embed(self, primary: Instance, model: str, texts: list[str]) -> Embeddings:
        """After the primary's p95 delay, ask a second free instance too; the first answer wins,
        the other call is cancelled. Never queues for the hedge and never exceeds its budget."""
        self.hedge_budget.deposit()
        first = asyncio.create_task(primary.client.embed(model, texts))
        delay = primary.window.percentile(95)
        if delay is None or (await asyncio.wait({first}, timeout=delay))[0] or not self.hedge_budget.try_spend():
            return await first
        routed = canonical_name(model)
        backup = choose(candidates(self.instances, routed, "embed")[0], routed, "embed", self._rng,
                        exclude=[primary])
        if backup is None:
            return await first
        self._take(backup)
        second = asyncio.create_task(backup.client.embed(model, texts))
        hedge_started = self._clock()
        pending: set[asyncio.Task[Embeddings]] = {first, second}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.exception() is None:
                        metrics.FLEET_HEDGES.labels("hedge" if task is second else "primary").inc()
                        if task is second:
                            self._succeeded(backup, routed, "embed", self._clock() - hedge_started)
                        return task.result()
                    if task is second:
                        self._failed(backup, "embed", task.exception())
            return await first  # both failed: the primary's error is the answer
        finally:
            for task in (first, second):
                task.cancel()
            self._release(backup)


def _new_ewma(value: float | None = None) -> Ewma:
    """Latency and load-time estimates: a sample weighs 30%, so about five samples make a verdict."""
    return Ewma(alpha=0.3, value=value)

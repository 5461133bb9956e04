"""Active health checks, off the request path: every interval probe every instance
(/api/version for liveness, /api/tags for models present, /api/ps for models loaded);
between intervals, re-probe ejected instances as soon as their back-off ends."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tsa import metrics
from tsa.fleet.gauges import publish_state
from tsa.fleet.instance import Instance, State
from tsa.fleet.outliers import EjectionPolicy, due_for_probe, record_probe
from tsa.model_names import canonical_name

if TYPE_CHECKING:
    from tsa.fleet.fleet import Fleet

_TICK_S = 0.25


class HealthProber:
    def __init__(self, fleet: Fleet, interval_s: float, policy: EjectionPolicy,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fleet = fleet
        self.interval_s = interval_s
        self.policy = policy
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._next_full = clock() + interval_s

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fleet-health")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(_TICK_S)
            await self.run_once()

    async def run_once(self) -> None:
        """One scheduling step: the full round when an interval has passed, else the due re-probes."""
        now = self._clock()
        if now >= self._next_full:
            self._next_full = now + self.interval_s
            await self.probe_all()
            return
        due = [i for i in self.fleet.instances if due_for_probe(i, now)]
        if due:
            await asyncio.gather(*(self.probe(i) for i in due))

    async def probe_all(self) -> None:
        await asyncio.gather(*(self.probe(i) for i in list(self.fleet.instances)))

    async def probe(self, instance: Instance) -> bool:
        was = instance.state
        try:
            await instance.client.version()
            listed = {canonical_name(entry["name"]): entry for entry in await instance.client.tags()}
            loaded = {canonical_name(m["name"]) for m in await instance.client.ps()}
        except Exception as exc:  # any failure of a probe is the instance's ill health
            instance.last_error = f"probe failed: {exc}"
            record_probe(instance, False, self.policy, self._clock())
            ok = False
        else:
            instance.models_available, instance.models_loaded = set(listed), loaded
            instance.model_entries = listed
            instance.models_missing.clear()
            record_probe(instance, True, self.policy, self._clock())
            metrics.FLEET_MODELS_LOADED.labels(instance.name).set(len(loaded))
            ok = True
        if instance.state is not was:
            publish_state(instance)
            if instance.state is State.HEALTHY:
                self.fleet.on_capacity_change()
        return ok

    async def live_summary(self) -> list[dict[str, Any]]:
        """Probe every instance now and report what each said."""

        async def one(instance: Instance) -> dict[str, Any]:
            ok = await self.probe(instance)
            return {"url": instance.url, "name": instance.name, "healthy": ok, "state": instance.state.value,
                    "models_available": sorted(instance.models_available or ()),
                    "models_loaded": sorted(instance.models_loaded),
                    **({} if ok else {"error": instance.last_error})}

        return list(await asyncio.gather(*(one(i) for i in list(self.fleet.instances))))

import asyncio
import threading

import pytest

from tsa.engine.backends import ModelSpec, _llama_options
from tsa.engine.keep_alive import DEFAULT_KEEP_ALIVE_S, FOREVER, parse_keep_alive
from tsa.engine.manager import ModelManager, ModelNotFound
from tsa.engine.threads import iterate_in_thread


@pytest.mark.parametrize(("value", "seconds"), [
    (None, DEFAULT_KEEP_ALIVE_S), ("5m", 300.0), ("30s", 30.0), ("1h", 3600.0), ("250ms", 0.25),
    (10, 10.0), (0, 0.0), (-1, FOREVER), ("-1m", FOREVER)])
def test_keep_alive_values(value, seconds):
    assert parse_keep_alive(value) == seconds


@pytest.mark.parametrize("value", ["soon", "5 days", True])
def test_keep_alive_rejects_nonsense(value):
    with pytest.raises(ValueError):
        parse_keep_alive(value)


def test_ollama_options_map_to_llama_cpp_with_a_repeat_penalty():
    mapped = _llama_options({"temperature": 0.1, "num_predict": 64, "seed": 7, "stop": ["\n\n"]})
    assert mapped == {"temperature": 0.1, "top_p": 0.9, "top_k": 40, "repeat_penalty": 1.15,
                      "max_tokens": 64, "seed": 7, "stop": ["\n\n"]}
    assert _llama_options({"num_predict": -1})["max_tokens"] is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _manager(clock: Clock, loads: list[str]) -> ModelManager:
    spec = ModelSpec("tiny:latest", "embed", "test", "1", "F32", load=lambda: loads.append("tiny") or object())
    return ModelManager({spec.name: spec}, clock=clock)


async def test_models_load_once_and_unload_after_keep_alive():
    clock, loads = Clock(), []
    manager = _manager(clock, loads)
    async with manager.use("tiny", "embed", 60) as (_, load_ns):
        assert load_ns > 0
    async with manager.use("tiny:latest", "embed", 60) as (_, load_ns):
        assert load_ns == 0
    assert loads == ["tiny"]
    clock.now += 59
    assert manager.unload_expired() == []
    clock.now += 2
    assert manager.unload_expired() == ["tiny:latest"]
    assert manager.loaded() == []


async def test_keep_alive_zero_unloads_right_after_the_call():
    manager = _manager(Clock(), [])
    async with manager.use("tiny", "embed", 0):
        assert len(manager.loaded()) == 1
    assert manager.loaded() == []


async def test_unknown_model_and_wrong_kind():
    manager = _manager(Clock(), [])
    with pytest.raises(ModelNotFound, match='model "nope" not found'):
        async with manager.use("nope", "embed", 1):
            pass
    with pytest.raises(ValueError, match="does not support chat"):
        async with manager.use("tiny", "chat", 1):
            pass


async def test_thread_iteration_stops_the_producer_when_the_consumer_leaves():
    produced: list[int] = []
    stopped = threading.Event()

    def produce(cancelled: threading.Event):
        for n in range(1000):
            if cancelled.is_set():
                stopped.set()
                return
            produced.append(n)
            yield n
            cancelled.wait(0.001)

    items = iterate_in_thread(produce)
    assert [await anext(items) for _ in range(3)] == [0, 1, 2]
    await items.aclose()
    assert stopped.is_set() and len(produced) < 1000


async def test_thread_iteration_reraises_producer_errors():
    def produce(cancelled):
        yield 1
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        async for _ in iterate_in_thread(produce):
            await asyncio.sleep(0)

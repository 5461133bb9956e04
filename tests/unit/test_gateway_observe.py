"""Drop-in API metrics: one outcome per call, tokens from the final chunk, unknown models not labelled by name."""

from prometheus_client import REGISTRY

from tsa.api.compat.observe import Observed
from tsa.errors import UnknownModel


def _count(**labels: str) -> float:
    return REGISTRY.get_sample_value("tsa_gateway_requests_total", labels) or 0.0


def _tokens(**labels: str) -> float:
    return REGISTRY.get_sample_value("tsa_gateway_tokens_total", labels) or 0.0


async def _batches(items):
    for item in items:
        yield [item]


async def test_a_stream_counts_once_with_its_tokens():
    before = _count(api="t", endpoint="chat", model="m", outcome="ok")
    observed = Observed("t", "chat", "m")
    seen = [b async for b in observed.batches(_batches([{"done": False}, {"done": True, "prompt_eval_count": 7,
                                                                            "eval_count": 3}]))]
    assert len(seen) == 2
    observed.end("error")  # already ended: not counted again
    assert _count(api="t", endpoint="chat", model="m", outcome="ok") == before + 1
    assert _count(api="t", endpoint="chat", model="m", outcome="error") == 0
    assert _tokens(api="t", model="m", direction="in") >= 7 and _tokens(api="t", model="m", direction="out") >= 3


async def test_a_stream_closed_early_is_cancelled_and_an_unknown_model_is_not_a_label():
    observed = Observed("t2", "chat", "m")
    stream = observed.batches(_batches([{"done": False}, {"done": False}, {"done": True}]))
    await anext(stream)
    await stream.aclose()
    assert _count(api="t2", endpoint="chat", model="m", outcome="cancelled") == 1
    Observed("t2", "chat", "made-up:1b").end("error", error=UnknownModel("nope"))
    assert _count(api="t2", endpoint="chat", model="unknown", outcome="error") == 1
    assert _count(api="t2", endpoint="chat", model="made-up:1b", outcome="error") == 0

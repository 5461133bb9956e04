"""The fleet relays a stream in the batches its instance's reads brought, and still enforces the
caller's token limit and the final chunk inside a batch. The instance is a scripted client: this is
the relay's own logic, without I/O (the real engines' side is in tests/integration/fleet)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from tsa.fleet import Fleet, InstanceConfig
from tsa.fleet.stream import collect


def _token(n: int) -> dict[str, Any]:
    return {"model": "m", "created_at": "t", "message": {"role": "assistant", "content": f"t{n} "}, "done": False}


FINAL = {"model": "m", "created_at": "t", "message": {"role": "assistant", "content": ""}, "done": True,
         "eval_count": 5}


class ScriptedClient:
    """Sends the given batches, as if each came in one network read; records whether it was closed."""

    def __init__(self, batches: list[list[dict[str, Any]]]) -> None:
        self.batches = batches
        self.closed = False

    async def chat_batches(self, model: str, messages: Any, options: Any = None, extra: Any = None
                           ) -> AsyncIterator[list[dict[str, Any]]]:
        try:
            for batch in self.batches:
                yield batch
        finally:
            self.closed = True


def _fleet(client: ScriptedClient) -> Fleet:
    fleet = Fleet([InstanceConfig("http://127.0.0.1:9", "a", max_concurrency=1)])
    fleet.instances[0].client = client  # type: ignore[assignment]
    return fleet


async def test_what_arrived_together_is_relayed_together():
    client = ScriptedClient([[_token(0), _token(1), _token(2)], [_token(3)], [_token(4), FINAL]])
    fleet = _fleet(client)
    stream = await fleet.open_chat("m", [{"role": "user", "content": "hi"}])
    batches = [b async for b in stream.batches]
    assert [len(b) for b in batches] == [3, 1, 2]
    assert batches[-1][-1] == FINAL
    assert client.closed and fleet.instances[0].in_flight == 0


async def test_a_token_limit_is_held_inside_a_batch_the_instance_overran():
    overrun = [[_token(n) for n in range(6)], [FINAL]]  # six tokens at once, though three were asked for
    client = ScriptedClient(overrun)
    fleet = _fleet(client)
    stream = await fleet.open_chat("m", [{"role": "user", "content": "hi"}], {"num_predict": 3})
    batches = [b async for b in stream.batches]
    assert len(batches) == 1
    *tokens, final = batches[0]
    assert [t["message"]["content"] for t in tokens] == ["t0 ", "t1 ", "t2 "]
    assert final["done"] and final["done_reason"] == "length" and final["eval_count"] == 3
    assert client.closed and fleet.instances[0].in_flight == 0


async def test_the_chunk_by_chunk_view_sees_every_chunk_in_order():
    client = ScriptedClient([[_token(0), _token(1)], [_token(2), FINAL]])
    stream = await _fleet(client).open_chat("m", [{"role": "user", "content": "hi"}])
    chunks = [c async for c in stream.chunks]
    assert [c["message"]["content"] for c in chunks] == ["t0 ", "t1 ", "t2 ", ""]
    await stream.aclose()
    assert client.closed


async def _listed(batches):
    for batch in batches:
        yield batch


async def test_a_whole_answer_keeps_the_tool_calls_sent_before_the_final_chunk():
    call = {"function": {"name": "torque_for", "arguments": {"bolt": "M12"}}}
    asked = {"model": "m", "message": {"role": "assistant", "content": "", "tool_calls": [call]}, "done": False}
    whole = await collect(_listed([[_token(0)], [asked, FINAL]]))
    assert whole["message"] == {"role": "assistant", "content": "t0 ", "tool_calls": [call]}
    assert whole["done"] and whole["eval_count"] == 5
    generated = await collect(_listed([[{"response": "a", "done": False}], [{"response": "b", "done": True}]]))
    assert generated["response"] == "ab" and "message" not in generated

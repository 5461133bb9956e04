"""A stream is relayed in the batches its instance's reads brought; where it ends is decided inside a
batch: at the instance's final chunk, or at the caller's token limit, which an instance may overrun
within one read. Pure logic on batches; the fleet's relay over real engines is in
tests/integration (the token limit at 0 and 1 ms per token, failover, cancellation)."""

from __future__ import annotations

from typing import Any

from tsa.fleet.stream import RelayTally, collect, one_by_one


def _token(n: int) -> dict[str, Any]:
    return {"model": "m", "created_at": "t", "message": {"role": "assistant", "content": f"t{n} "}, "done": False}


FINAL = {"model": "m", "created_at": "t", "message": {"role": "assistant", "content": ""}, "done": True,
         "eval_count": 5}


async def _listed(batches):
    for batch in batches:
        yield batch


def test_what_arrived_together_is_passed_on_together_until_the_final_chunk():
    tally = RelayTally(_token(0))
    assert tally.admit([_token(0), _token(1), _token(2)]) == ([_token(0), _token(1), _token(2)], None)
    assert tally.admit([_token(3)]) == ([_token(3)], None)
    assert tally.admit([_token(4), FINAL, _token(9)]) == ([_token(4), FINAL], FINAL)  # nothing after the end
    assert tally.tokens == 5 and "".join(tally.text) == "t0 t1 t2 t3 t4 "


def test_a_token_limit_is_held_inside_a_batch_the_instance_overran():
    tally = RelayTally(_token(0), limit=3)
    relayed, final = tally.admit([_token(n) for n in range(6)])  # six tokens at once, though three were asked for
    *tokens, last = relayed
    assert [t["message"]["content"] for t in tokens] == ["t0 ", "t1 ", "t2 "]
    assert last is final and final["done"] and final["done_reason"] == "length" and final["eval_count"] == 3
    assert final["message"] == {"role": "assistant", "content": ""} and final["model"] == "m"
    generation = RelayTally({"model": "m", "response": "a", "done": False}, limit=1)
    _, cut = generation.admit([{"response": "a", "done": False}, {"response": "b", "done": False}])
    assert cut is not None and cut["response"] == "" and "message" not in cut


def test_the_final_count_includes_the_tokens_streamed_before_a_resumption():
    tally = RelayTally(_token(0))
    tally.admit([_token(0), _token(1)])
    tally.resumed_after = tally.tokens  # another instance carries the answer on
    _, final = tally.admit([_token(2), FINAL])
    assert final is not None and final["eval_count"] == 2 + 5


async def test_the_chunk_by_chunk_view_sees_every_chunk_in_order():
    chunks = [c async for c in one_by_one(_listed([[_token(0), _token(1)], [_token(2), FINAL]]))]
    assert [c["message"]["content"] for c in chunks] == ["t0 ", "t1 ", "t2 ", ""]


async def test_a_whole_answer_keeps_the_tool_calls_sent_before_the_final_chunk():
    call = {"function": {"name": "torque_for", "arguments": {"bolt": "M12"}}}
    asked = {"model": "m", "message": {"role": "assistant", "content": "", "tool_calls": [call]}, "done": False}
    whole = await collect(_listed([[_token(0)], [asked, FINAL]]))
    assert whole["message"] == {"role": "assistant", "content": "t0 ", "tool_calls": [call]}
    assert whole["done"] and whole["eval_count"] == 5
    generated = await collect(_listed([[{"response": "a", "done": False}], [{"response": "b", "done": True}]]))
    assert generated["response"] == "ab" and "message" not in generated

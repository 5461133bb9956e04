"""The hot path's JSON: orjson's speed, the standard library's reach where orjson stops."""

import math

import pytest

from tsa.json_codec import dumps, loads


def test_what_orjson_refuses_is_still_read_and_written():
    assert math.isnan(loads(b'{"x": NaN}')["x"])  # orjson refuses NaN; json reads it
    assert loads(dumps({"a": 2**70}))["a"] == 2**70  # orjson writes no integer beyond 64 bits
    assert loads(dumps({1: "one"})) == {"1": "one"}  # nor keys that are not strings


def test_text_stays_text_and_compact():
    chunk = {"message": {"role": "assistant", "content": "Drehmoment 40 N·m — ✓"}, "done": False}
    expected = '{"message":{"role":"assistant","content":"Drehmoment 40 N·m — ✓"},"done":false}'
    assert dumps(chunk) == expected.encode()
    assert loads(dumps(chunk)) == chunk


@pytest.mark.parametrize("data", [b"", b"{", b"nope", b"\xff\xfe{"])
def test_what_is_not_json_is_a_value_error(data):
    with pytest.raises(ValueError):
        loads(data)

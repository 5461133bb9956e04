from tsa.cache.codec import pack_vector, unpack_vector
from tsa.cache.keys import canonical_json, cache_key, lock_key
from tsa.cache.stats import layer_stats
from tsa.rag import cacheable


def test_keys_are_canonical_versioned_and_namespaced():
    a = cache_key("inference", {"query": "seal", "options": {"temperature": 0.2, "num_predict": 64}})
    b = cache_key("inference", {"options": {"num_predict": 64, "temperature": 0.2}, "query": "seal"})
    assert a == b and a.startswith("tsa:v1:inference:") and len(a.rsplit(":", 1)[1]) == 64
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
    assert lock_key(a) == "tsa:v1:lock:" + a.removeprefix("tsa:v1:")


def test_every_parameter_that_changes_the_result_changes_the_key():
    base = {"chat_model": "m:latest", "query": "q", "options": {"temperature": 0.2, "num_predict": 64},
            "generation": "s:1"}
    variants = [{**base, "chat_model": "other:latest"}, {**base, "options": {"temperature": 0.3, "num_predict": 64}},
                {**base, "options": {"temperature": 0.2, "num_predict": 65}}, {**base, "generation": "s:2"}]
    keys = {cache_key("inference", parts) for parts in [base, *variants]}
    assert len(keys) == 5
    assert cache_key("chunks", base) != cache_key("inference", base)


def test_vectors_round_trip_as_float32():
    data = pack_vector([0.1, -2.5, 3.0])
    assert len(data) == 12
    assert unpack_vector(data) == [float.fromhex("0x1.99999ap-4"), -2.5, 3.0]


def test_only_complete_answers_are_cacheable():
    assert cacheable("The torque is 25 N·m.", "stop", False)
    assert cacheable("Not in the manuals.", "no_context", False)
    assert not cacheable("  ", "stop", False)
    assert not cacheable("The torque", "length", False)
    assert cacheable("The torque", "length", True)
    assert not cacheable("The torque", "cancelled", True)
    assert not cacheable("The torque", None, False)


def test_layer_stats_compute_rates_and_time_saved():
    raw = {b"hits": b"3", b"misses": b"1", b"compute_ms": b"400.0", b"computed": b"1", b"written": b"1",
           b"bytes_written": b"120", b"coalesced": b"2"}
    stats = layer_stats(raw, "inference")
    assert stats["hit_rate"] == 0.75 and stats["estimated_time_saved_ms"] == 1200.0
    assert stats["coalesced"] == 2 and stats["entries_written"] == 1 and stats["bytes_written"] == 120
    assert layer_stats({}, "chunks")["hit_rate"] == 0.0

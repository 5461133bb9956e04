import uuid

from tsa.rag.search_rewrite import fused, is_weak, usable_query
from tsa.records import SearchHit


def _hit(chunk_id: int, similarity: float, ranks: dict | None = None) -> SearchHit:
    return SearchHit(chunk_id, uuid.uuid4(), 1, "Manual", "m.pdf", 1, 1, (), "text", 0.03, similarity,
                     ranks or {"vector": 1})


def test_a_search_is_weak_when_nothing_is_close_and_no_identifier_matched():
    assert is_weak([_hit(1, 0.30), _hit(2, 0.20)])
    assert not is_weak([_hit(1, 0.30), _hit(2, 0.62)])
    assert not is_weak([_hit(1, 0.10, {"identifier": 1})]), "an exact part number match is strong"
    assert is_weak([])


def test_only_a_one_line_query_that_differs_is_used():
    assert usable_query('Search query: "noise level dB(A)"', "How loud is it?") == "noise level dB(A)"
    assert usable_query("How loud is it?", "how loud is it?") is None
    assert usable_query("noise\nlevel", "How loud is it?") is None
    assert usable_query("", "How loud is it?") is None


def test_both_searches_are_fused_and_hits_found_twice_rank_first():
    first = [_hit(1, 0.3), _hit(2, 0.3), _hit(3, 0.3)]
    second = [_hit(3, 0.5), _hit(4, 0.5)]
    assert [h.chunk_id for h in fused(first, second, 3)] == [3, 1, 2]
    assert fused(first, second, 3)[0] is first[2], "the first search's hit is kept"

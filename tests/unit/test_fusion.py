import pytest

from tsa.store.fusion import RRF_K, reciprocal_rank_fusion


def test_item_in_several_lists_beats_item_top_of_one():
    fused = reciprocal_rank_fusion({"vector": ["a", "b"], "fulltext": ["b", "c"]})
    assert [item for item, _, _ in fused] == ["b", "a", "c"]


def test_scores_follow_the_formula_and_ranks_are_reported():
    fused = dict((item, (score, ranks)) for item, score, ranks in
                 reciprocal_rank_fusion({"vector": ["a", "b"], "identifier": ["b"]}))
    assert fused["b"][0] == 1 / (RRF_K + 2) + 1 / (RRF_K + 1)
    assert fused["b"][1] == {"vector": 2, "identifier": 1}


def test_empty_lists_fuse_to_nothing():
    assert reciprocal_rank_fusion({"vector": [], "fulltext": []}) == []


def test_weights_scale_each_lists_votes():
    lists = {"vector": [1, 2], "fulltext": [2, 1]}
    assert [i for i, _, _ in reciprocal_rank_fusion(lists)][0] == 1, "equal weights: the tie keeps first-seen order"
    assert [i for i, _, _ in reciprocal_rank_fusion(lists, weights={"fulltext": 2.0})][0] == 2
    scores = {i: s for i, s, _ in reciprocal_rank_fusion(lists, k=60, weights={"vector": 0.5, "fulltext": 2.0})}
    assert scores[2] == pytest.approx(0.5 / 62 + 2.0 / 61)
    assert [i for i, _, _ in reciprocal_rank_fusion(lists, weights={"vector": 0.0})] == [2, 1]

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

"""Reciprocal rank fusion: merge ranked lists without comparing their raw scores."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

RRF_K = 60  # the constant of Cormack et al.; damps the weight of the very top ranks


def reciprocal_rank_fusion(rankings: Mapping[str, Sequence[Hashable]], k: int = RRF_K,
                           weights: Mapping[str, float] | None = None
                           ) -> list[tuple[Hashable, float, dict[str, int]]]:
    """Fuse ranked id lists: score(d) = Σ w_i / (k + rank_i(d)), ranks starting at 1, each list's
    weight 1 unless ``weights`` says otherwise.

    Returns (id, score, {list name: rank}) best first; ties keep first-seen order.

    >>> [(i, round(s, 4)) for i, s, _ in reciprocal_rank_fusion({"a": [1, 2], "b": [2]})]
    [(2, 0.0325), (1, 0.0164)]
    >>> [i for i, _, _ in reciprocal_rank_fusion({"a": [1, 2], "b": [2, 1]}, weights={"a": 2.0})]
    [1, 2]
    """
    weights = weights or {}
    scores: dict[Hashable, float] = {}
    ranks: dict[Hashable, dict[str, int]] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            ranks.setdefault(item, {})[name] = rank
    order = sorted(scores, key=lambda item: -scores[item])
    return [(item, scores[item], ranks[item]) for item in order]

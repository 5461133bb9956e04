"""Retrieval quality on the evaluation sets, held to thresholds (no timing): a change that makes the
service find the right page less often fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsa.evaluation import evaluate_retrieval, load_sets

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
# Every set meets the targets (hit@5 ≥ 0.9, MRR@10 ≥ 0.75): the sample manual and two real ones
# (gutenprint, 73 pages; nut, 135 pages). README "Evaluation".
TARGETS = {"hit_at_5": 0.9, "mrr_at_10": 0.75}
THRESHOLDS = {"hf22": TARGETS, "gutenprint": TARGETS, "nut": TARGETS}


@pytest.mark.parametrize("name", sorted(THRESHOLDS))
async def test_retrieval_finds_the_page_that_answers(container, name):
    (evaluation,) = load_sets(ROOT / "evals", [name])
    result = await evaluate_retrieval(container, evaluation)
    overall = result.overall
    assert overall.cases == len(evaluation.answerable)
    for metric, floor in THRESHOLDS[name].items():
        assert getattr(overall, metric) >= floor, (metric, overall, result.misses)

from pathlib import Path

import pytest

from tsa.errors import InvalidValue, NotFound
from tsa.evaluation.scoring import Retrieved, first_relevant_rank, relevant, score
from tsa.evaluation.sets import load_sets

ROOT = Path(__file__).resolve().parents[2]


def test_a_chunk_is_relevant_when_its_pages_touch_a_target_page_of_the_document():
    assert relevant(Retrieved("m.pdf", 2, 3), "m.pdf", [3])
    assert not relevant(Retrieved("m.pdf", 4, 4), "m.pdf", [3])
    assert not relevant(Retrieved("other.pdf", 3, 3), "m.pdf", [3])
    assert relevant(Retrieved("m.md", None, None), "m.md", [])  # no pages: any chunk of the document
    assert not relevant(Retrieved("m.pdf", None, None), "m.pdf", [3])


def test_ranks_and_scores():
    hits = [Retrieved("a.pdf", 1, 1), Retrieved("m.pdf", 5, 5), Retrieved("m.pdf", 2, 2)]
    assert first_relevant_rank(hits, "m.pdf", [2]) == 3
    assert first_relevant_rank(hits, "m.pdf", [9]) is None
    scores = score([1, 3, None, 12])
    assert (scores.cases, scores.hit_at_1, scores.hit_at_5) == (4, 0.25, 0.5)
    assert scores.mrr_at_10 == pytest.approx((1 + 1 / 3) / 4)
    assert scores.ndcg_at_10 == pytest.approx((1 + 0.5) / 4)


def test_the_sets_in_the_repository_load_and_are_complete():
    sets = load_sets(ROOT / "evals")
    assert {"hf22", "gutenprint"} <= {s.name for s in sets}
    for evaluation in sets:
        assert all(path.exists() for path in evaluation.documents), evaluation.name
        assert len(evaluation.cases) >= 40 and any(c.unanswerable for c in evaluation.cases)
        assert all(c.facts for c in evaluation.answerable), "every answerable case states its key facts"


def test_a_set_that_is_not_there_or_not_complete_is_refused(tmp_path):
    with pytest.raises(NotFound, match="no evaluation set named nope"):
        load_sets(ROOT / "evals", ["nope"])
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "bad.yaml").write_text("name: bad\ndocuments: []\ncases: []\n")
    with pytest.raises(InvalidValue, match="needs documents .* or collections"):
        load_sets(tmp_path / "evals")
    (tmp_path / "evals" / "bad.yaml").write_text("name: bad\ncollections: [default]\ncases:\n  - {question: 'Why?'}\n")
    with pytest.raises(InvalidValue, match="needs a document"):
        load_sets(tmp_path / "evals")
    (tmp_path / "evals" / "bad.yaml").write_text("name: bad\ndocuments: [{path: gone.pdf}]\ncases: []\n")
    with pytest.raises(NotFound, match="install-manuals"):
        load_sets(tmp_path / "evals")

from tsa.evaluation.from_feedback import Passage, case_from_feedback

PASSAGES = [Passage(1, "hf22.pdf", 2, 2, "Casing bolts | M8 | 25 N·m\nImpeller nut | M12 | 45 N·m"),
            Passage(2, "hf22.pdf", 5, 6, "Fit seal kit SK-4471 and tighten to 25 N·m.")]


def _item(rating: str, answer: str, corrected: str | None = None) -> dict:
    return {"question": "What torque do the casing bolts need?", "rating": rating, "answer": answer,
            "corrected_answer": corrected}


def test_a_thumbs_up_keeps_the_answers_facts_and_finds_the_page_that_holds_them():
    case, outcome = case_from_feedback(_item("up", "Fit SK-4471 at 25 Nm [2]."), PASSAGES)
    assert outcome == "made"
    assert case == {"kind": "feedback", "question": "What torque do the casing bolts need?",
                    "document": "hf22.pdf", "pages": [5, 6], "facts": ["SK-4471", "25 Nm"]}


def test_a_correction_replaces_the_wrong_answer():
    case, _ = case_from_feedback(_item("down", "45 N·m [1].", corrected="The casing bolts need 25 N·m."), PASSAGES)
    assert case["facts"] == ["25 N·m"] and case["pages"] == [2]


def test_a_correction_that_the_manuals_do_not_cover_makes_an_unanswerable_case():
    case, _ = case_from_feedback(_item("down", "45 N·m.", corrected="The manuals do not cover this pump."), PASSAGES)
    assert case == {"kind": "unanswerable", "question": "What torque do the casing bolts need?",
                    "unanswerable": True}


def test_feedback_that_says_nothing_checkable_makes_no_case():
    assert case_from_feedback(_item("down", "45 N·m."), PASSAGES) == (
        None, "a thumbs down without a corrected answer")
    assert case_from_feedback(_item("down", "45 N·m.", corrected="Use 30 N·m."), PASSAGES) == (
        None, "no passage of the cited documents holds the answer's facts")


def test_a_thumbs_up_without_values_points_at_the_passage_it_came_from():
    case, _ = case_from_feedback(_item("up", "Tighten them crosswise [1]."), PASSAGES)
    assert case == {"kind": "feedback", "question": "What torque do the casing bolts need?",
                    "document": "hf22.pdf", "pages": [2]}

"""The grounding check: citations, quantities in their many spellings, ranges, part numbers."""

from __future__ import annotations

import pytest

from tsa.rag.grounding import annotated, check, extractive

TORQUES = ("Fastener | Size | Torque\nCasing bolts | M8x1.25 | 25 N·m\nMotor feet | M12 | 45 N·m\n"
           "Impeller nut | M16 | 60 N·m")
SPECS = "Maximum inlet pressure 6 bar. Maximum liquid temperature 90 °C. Rated speed 2900 rpm."


@pytest.mark.parametrize("claim", ["25 N·m", "25 Nm", "25 N m", "25 N-m", "25 N.m", "25.0 N·m", "25,0 Nm",
                                   "25Nm"])
def test_a_torque_is_the_same_in_every_notation(claim):
    grounding = check(f"Tighten the casing bolts to {claim} [1].", [TORQUES])
    assert grounding.supported, grounding


def test_the_wrong_torque_is_flagged_with_where_it_stands():
    answer = "The casing bolts need 45 N·m [2]."
    grounding = check(answer, [SPECS, "Casing bolts | M8x1.25 | 25 N·m"])
    assert not grounding.supported
    (claim,) = grounding.unsupported
    assert (claim.kind, claim.text, answer[claim.start:claim.end]) == ("quantity", "45 N·m", "45 N·m")
    assert annotated(answer, grounding) == "The casing bolts need 45 N·m [not in the cited passages] [2]."


def test_a_value_only_in_an_uncited_passage_does_not_count():
    # 45 N·m is in passage 1, but the answer cites passage 2 for it.
    grounding = check("The casing bolts need 45 N·m [2].", [TORQUES, SPECS])
    assert [c.text for c in grounding.unsupported] == ["45 N·m"]


def test_without_citations_the_answer_is_held_to_every_passage():
    assert check("Use 6 bar at most.", [TORQUES, SPECS]).supported
    assert not check("Use 8 bar at most.", [TORQUES, SPECS]).supported


@pytest.mark.parametrize(("answer", "supported"), [
    ("Between 10 and 15 Nm [1].", True),  # "and" is no range: only the 15 Nm carries a unit, and it is there
    ("Torque 10–15 N·m [1].", True),
    ("Torque 10 to 15 Nm [1].", True),
    ("Torque 10-16 N·m [1].", False),
])
def test_ranges_are_checked_at_both_ends(answer, supported):
    assert check(answer, ["Tighten to 10 - 15 N·m."]).supported is supported


def test_units_must_agree_as_well_as_numbers():
    assert not check("The pressure limit is 90 bar [1].", [SPECS]).supported
    assert check("Up to 90 °C and 2900 rpm [1].", [SPECS]).supported
    assert check("Up to 90 C [1].", [SPECS]).supported


def test_thousands_separators_and_decimal_commas():
    assert check("It runs at 2,900 rpm [1].", [SPECS]).supported
    assert check("Flow 22,5 m3/h [1].", ["Rated flow 22.5 m³/h"]).supported


def test_part_numbers_and_error_codes_must_be_in_the_passages():
    passages = ["Replace filter cartridge HF-22-FC. Error E-17 means the seal leaks."]
    assert check("Fit cartridge HF-22-FC; E-17 means a leak [1].", passages).supported
    grounding = check("Fit cartridge HF-22-FX [1].", passages)
    assert [(c.kind, c.text) for c in grounding.unsupported] == [("identifier", "HF-22-FX")]
    assert check("Fit cartridge HF22FC [1].", ["Order HF22FC."]).supported


def test_a_citation_of_a_passage_that_was_not_given_is_flagged():
    grounding = check("See [1] and [4].", [TORQUES, SPECS])
    assert [(c.kind, c.text) for c in grounding.unsupported] == [("citation", "[4]")]
    assert grounding.cited == [1]


def test_plain_words_and_step_numbers_are_not_claims():
    text = "Step 3 a new seal goes in. Do 5 in the tank, then 2 more [1]."
    assert check(text, ["Replace the seal."]).supported


def test_extractive_quotes_the_sentences_closest_to_the_question():
    passages = ["General notes. The casing bolts are tightened crosswise. Casing bolts torque is 25 N·m.",
                "The impeller nut takes 60 N·m."]
    text = extractive("What torque do the casing bolts need?", passages, [1])
    assert text.count("> ") == 2 and "[1]" in text and "25 N·m" in text and "60 N·m" not in text


TORQUE_TABLE = ["Fastener | Size | Torque\nCasing bolts | M8x1.25 | 25 N·m\nFilter housing cover | M6 | 10 N·m\n"
           "Impeller nut | M12 | 40 N·m\nMotor feet | M10 | 45 N·m"]


def test_a_value_read_off_another_row_of_the_table_is_flagged():
    """The issue's own example: the casing bolts' torque answered with the motor feet's."""
    answer = "The casing bolts need 45 N·m of torque."
    grounding = check(answer, TORQUE_TABLE)
    assert not grounding.supported
    assert [(c.text, c.kind) for c in grounding.unsupported] == [("45 N·m", "misattributed")]
    assert annotated(answer, grounding) == \
        "The casing bolts need 45 N·m [in the passages, but for another item] of torque."


@pytest.mark.parametrize("answer", [
    "The casing bolts need 25 N·m [1].",
    "The impeller nut needs 40 Nm [1].",
    "Casing bolts need 25 N·m and the motor feet 45 N·m.",  # each value with its own row
    "Tighten to 45 N·m.",  # names nothing the table lists: cannot be judged
])
def test_values_that_match_their_row_or_name_nothing_pass(answer):
    assert check(answer, TORQUE_TABLE).supported


def test_safety_signal_words_are_found_most_severe_first():
    from tsa.rag.hazards import hazard_level

    assert hazard_level("CAUTION: hot surface. WARNING: live parts.") == "WARNING"
    assert hazard_level("DANGER High voltage. CAUTION sharp edges") == "DANGER"
    assert hazard_level("Warning lights flash when the filter is blocked.") is None
    assert hazard_level("Check the oil level.") is None

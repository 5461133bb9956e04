import pytest

from tsa.store.query_terms import lexical_query


@pytest.mark.parametrize(("question", "added"), [
    ("How heavy is the pump when dry?", "weight mass"),
    ("What does the unit weigh?", "weight mass"),
    ("How loud is the pump?", "noise level sound"),
    ("How often should I grease the bearings?", "interval every"),
    ("How much ink is left in the printer?", "level"),
    ("How tight should the bolts be tightened?", "torque"),
])
def test_the_manuals_words_for_a_property_are_added(question, added):
    assert lexical_query(question) == f"{question} {added}"


@pytest.mark.parametrize("question", ["Which seal kit fits the HF-22?", "What is error E-17?",
                                      "Where is the heavyweight bracket?"])
def test_questions_about_no_property_stay_as_asked(question):
    assert lexical_query(question) == question

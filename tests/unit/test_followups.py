from tsa.rag.followups import Turn, acceptable, needs_rewrite, recent, rules_rewrite, title_of

CASING = Turn("What torque do the casing bolts need?", "What torque do the casing bolts need?", "25 N·m [1].")


def test_only_follow_ups_with_earlier_turns_are_rewritten():
    assert not needs_rewrite("and the impeller nut?", [])
    assert needs_rewrite("and the impeller nut?", [CASING])
    assert needs_rewrite("What about its seal?", [CASING])
    assert not needs_rewrite("How do I replace the mechanical seal of the HF-22 pump?", [CASING])


def test_a_model_rewrite_is_used_only_when_it_keeps_what_the_follow_up_asks():
    assert acceptable(" What torque does the impeller nut need? ", "and the impeller nut?") == \
        "What torque does the impeller nut need?"
    assert acceptable("Rewritten question: What torque does the impeller nut need?", "and the impeller nut?") == \
        "What torque does the impeller nut need?"
    assert acceptable("What torque do the casing bolts need?", "and the impeller nut?") is None
    assert acceptable("token0 token1 token2", "and the impeller nut?") is None
    assert acceptable("", "and the impeller nut?") is None
    assert acceptable("Sure!\nWhat torque does the impeller nut need?", "and the impeller nut?") is None


def test_the_rules_join_the_follow_up_to_the_question_it_follows():
    assert rules_rewrite("and the impeller nut?", [CASING]) == \
        "the impeller nut — What torque do the casing bolts need?"
    assert rules_rewrite("what about?", [CASING]) == "what about — What torque do the casing bolts need?"


def test_history_in_view_is_bounded_and_keeps_the_latest():
    turns = [Turn(f"q{n}", f"q{n}", "a" * 500) for n in range(10)]
    kept = recent(turns, max_chars=1100)
    assert [t.question for t in kept] == ["q8", "q9"]


def test_titles_are_short():
    assert title_of("x " * 100).endswith("…") and len(title_of("x " * 100)) <= 80

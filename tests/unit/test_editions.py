from datetime import datetime, timedelta

import pytest

from tsa.ingest.editions import current_edition, edition_from_text, edition_key


@pytest.mark.parametrize(("page", "edition"), [
    ("HF-22 PUMP\nService manual\nEdition 3\n2024", "3"),
    ("Service Manual — Revision B", "B"),
    ("Rev. 2.1 (March 2024)", "2.1"),
    ("Second printing\n4th edition", "4"),
    ("Version: 10", "10"),
    ("Tighten the revision plate screws to 5 N·m.", None),  # "revision" without an edition after it
    ("HF-22 PUMP\nService manual\n2024-03-01", None),  # a date alone says nothing
])
def test_editions_are_read_only_where_the_page_says_so(page, edition):
    assert edition_from_text(page) == edition


def test_edition_order_is_natural():
    assert edition_key("10") > edition_key("9")
    assert edition_key("2.10") > edition_key("2.9")
    assert edition_key("C") > edition_key("B")
    assert edition_key("1") > edition_key(None)


def test_the_current_edition_is_the_highest_then_the_latest():
    now = datetime(2026, 1, 1)
    assert current_edition([("a", "2", now), ("b", "10", now - timedelta(days=1))]) == "b"
    assert current_edition([("a", "2", now), ("b", "2", now + timedelta(seconds=1))]) == "b"
    assert current_edition([("a", None, now), ("b", "1", now - timedelta(days=9))]) == "b"
    assert current_edition([]) is None

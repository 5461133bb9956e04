from tsa.store.identifiers import extract_identifiers


def test_part_numbers_error_codes_and_sizes_are_identifiers():
    found = extract_identifiers("Fit HF-22-FC with M8x1.25 bolts; E-17 means low inlet pressure at 230V.")
    assert found[:4] == ["HF-22-FC", "HF22FC", "M8X1.25", "E-17"]
    assert "230V" in found


def test_plain_words_numbers_and_ranges_are_not_identifiers():
    assert extract_identifiers("Tighten to 25 N.m within 12-15 minutes, step 3.") == []


def test_long_numeric_part_numbers_count():
    assert extract_identifiers("Order 4471-0032 today") == ["4471-0032", "44710032"]


def test_identifiers_are_upper_cased_and_unique():
    assert extract_identifiers("e-17, E-17 and e17") == ["E-17", "E17"]

from tsa.ingest.lines import blocks_from_lines, classify, heading_level, without_running_lines


def test_numbered_sections_are_headings_and_numbered_steps_are_not():
    assert heading_level("3.2 Replacing the filter") == 2
    assert heading_level("4 Maintenance") == 1
    assert classify("1. Close valve V1.") == ("list_item", 0)
    assert classify("3 bolts are needed.") == ("", 0)


def test_notices_need_upper_case_keyword():
    assert classify("WARNING: Hot surface")[0] == "notice"
    assert classify("Note that the pump is heavy")[0] == ""


def test_continuation_lines_join_their_block_and_blank_lines_split():
    blocks = blocks_from_lines([("WARNING: Depressurise before", 1), ("opening the housing.", 1),
                                ("", 1), ("Plain text", 2)])
    assert [(b.kind, b.text, b.page) for b in blocks] == [
        ("notice", "WARNING: Depressurise before opening the housing.", 1), ("paragraph", "Plain text", 2)]


def test_layout_columns_become_table_rows():
    blocks = blocks_from_lines([("  Impeller nut      M12      40 N·m", 2)])
    assert blocks[0].kind == "table" and blocks[0].text == "Impeller nut | M12 | 40 N·m"


def test_running_headers_and_footers_are_dropped():
    words = ["alpha", "beta", "gamma", "delta"]
    pages = [["ACME Manual", f"{w} intro", "Check step 4 again", f"{w} end", f"Page {n}"]
             for n, w in enumerate(words, start=1)]
    assert without_running_lines(pages) == [[f"{w} intro", "Check step 4 again", f"{w} end"] for w in words]


def test_an_outline_decides_which_lines_are_titles():
    from tsa.ingest.outline import OutlineEntry, OutlineHeadings

    outline = OutlineHeadings([OutlineEntry("Maintenance", 1, 3), OutlineEntry("Replacing the seal", 2, 4)])
    blocks = blocks_from_lines([("4 Maintenance", 3), ("", 3), ("EOD", 3), ("Keep the pump dry.", 3),
                                ("4.3Replacing the seal", 4), ("Maintenance", 5)], outline)
    assert [(b.kind, b.level, b.text) for b in blocks] == [
        ("heading", 1, "4 Maintenance"),
        ("paragraph", 0, "EOD Keep the pump dry."),
        ("heading", 2, "4.3 Replacing the seal"),
        ("paragraph", 0, "Maintenance"),  # the title's words, but not on the page the outline names
    ]
    assert outline.trusted([("4 Maintenance", 3), ("4.3 Replacing the seal", 4)])
    assert not outline.trusted([("Unrelated", 3), ("Maintenance", 4)])

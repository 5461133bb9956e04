import pytest

from tests.documents import HTML, MARKDOWN, TEXT, docx_bytes, encrypted_pdf_bytes, outlined_pdf_bytes, pdf_bytes
from tsa.errors import DocumentError, UnsupportedDocument
from tsa.ingest import parse_document
from tsa.ingest.chunking import chunk_blocks


def _kinds(parsed):
    return [(b.kind, b.text) for b in parsed.blocks]


def test_pdf_keeps_page_numbers(sample_pdf):
    parsed = parse_document(sample_pdf, "manual.pdf")
    assert parsed.page_count == 7
    assert parsed.title == "HydroFlow HF-22 Centrifugal Pump Service Manual"
    seal = next(b for b in parsed.blocks if b.text == "4.3 Replacing the mechanical seal")
    assert seal.kind == "heading" and seal.page == 5
    assert not any("Rev. C" in b.text for b in parsed.blocks), "running header must be dropped"


def test_markdown_headings_steps_and_notices():
    kinds = _kinds(parse_document(MARKDOWN, "cx9.md"))
    assert ("heading", "Oil change") in kinds
    assert ("notice", "WARNING: Vent the receiver before opening the oil filler.") in kinds
    assert ("list_item", "2. Drain the oil through valve OV-3.") in kinds


def test_html_drops_scripts_and_reads_tables():
    parsed = parse_document(HTML, "dr4.html")
    assert parsed.title == "Dryer DR-4 Guide"
    kinds = _kinds(parsed)
    assert ("table", "A-05 | Dew point high") in kinds
    assert ("list_item", "Fill with 4 kg of DS-13 beads.") in kinds
    assert not any("var x" in text for _, text in kinds)


def test_docx_styles_map_to_blocks():
    kinds = _kinds(parse_document(docx_bytes(), "coolant.docx"))
    assert ("heading", "Draining the coolant") in kinds
    assert ("notice", "WARNING: Let the engine cool for 30 minutes before opening the cap.") in kinds
    assert ("list_item", "Open drain cock DC-7 and let the coolant run out.") in kinds
    assert ("table", "CL-50 glycol | 8.5 l") in kinds


def test_plain_text_numbered_headings():
    kinds = _kinds(parse_document(TEXT, "g12.txt"))
    assert ("heading", "2 Stopping") in kinds


@pytest.mark.parametrize(("data", "name", "error", "message"), [
    (b"", "empty.pdf", DocumentError, "empty"),
    (b"%PDF-1.7\n garbage that is not a pdf", "broken.pdf", DocumentError, "could not be read"),
    (b"MZ\x90\x00binary", "tool.exe", UnsupportedDocument, "unsupported file type '.exe'"),
    (b"hello", "notes.pdf", DocumentError, "not a PDF"),
    (b"PK\x03\x04 not really a zip", "broken.docx", DocumentError, "could not be read"),
])
def test_bad_files_fail_clearly(data, name, error, message):
    with pytest.raises(error, match=message):
        parse_document(data, name)


def test_encrypted_pdf_is_refused():
    with pytest.raises(DocumentError, match="encrypted"):
        parse_document(encrypted_pdf_bytes(), "secret.pdf")


def test_pdf_without_text_is_refused():
    with pytest.raises(DocumentError, match="no text"):
        parse_document(pdf_bytes([[]]), "scan.pdf")


_REFERENCE_PAGES = [["3 Command reference", "", "upsc reads a here-document:", "", "EOD", "",
                     "The lines before EOD are sent as they are."],
                    ["3.1upsc", "", "upsc lists every variable of a UPS."]]


def test_a_pdf_outline_gives_the_section_titles_and_their_levels():
    pdf = outlined_pdf_bytes(_REFERENCE_PAGES, [("Command reference", 0, 0), ("upsc", 1, 1)])
    parsed = parse_document(pdf, "reference.pdf")
    assert parsed.structure == "outline"
    headings = [(b.level, b.text, b.page) for b in parsed.blocks if b.kind == "heading"]
    # "EOD" looks like a title (short, upper case) but the outline says it is not one; the title
    # run together with its number by text extraction gets the outline's wording back.
    assert headings == [(1, "3 Command reference", 1), (2, "3.1 upsc", 2)]
    chunks = chunk_blocks(parsed.blocks)
    assert chunks[-1].heading_path == ("3 Command reference", "3.1 upsc")
    assert any("EOD" in c.text and c.heading_path == ("3 Command reference",) for c in chunks)


def test_without_an_outline_titles_come_from_the_layout():
    parsed = parse_document(pdf_bytes(_REFERENCE_PAGES), "reference.pdf")
    assert parsed.structure == "layout"
    assert "EOD" in [b.text for b in parsed.blocks if b.kind == "heading"]


def test_an_outline_that_does_not_match_the_text_is_not_trusted():
    pdf = outlined_pdf_bytes(_REFERENCE_PAGES, [("Safety", 0, 0), ("Spare parts", 0, 1), ("upsc", 1, 1)])
    assert parse_document(pdf, "reference.pdf").structure == "layout"


def test_text_and_markup_say_where_their_titles_came_from():
    assert parse_document(TEXT, "notes.txt").structure == "layout"
    assert parse_document(MARKDOWN, "notes.md").structure == "markup"

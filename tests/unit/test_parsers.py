import pytest

from tests.documents import HTML, MARKDOWN, TEXT, docx_bytes, encrypted_pdf_bytes, pdf_bytes
from tsa.errors import DocumentError, UnsupportedDocument
from tsa.ingest import parse_document


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

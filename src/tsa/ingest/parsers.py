"""Parsers: bytes of a PDF, Markdown, HTML, plain-text or DOCX file → blocks with pages.

Every parser is blocking and CPU-bound, and may meet a hostile file: the pipeline runs them in
a separate process under ``ParseLimits`` (see ``sandbox``). Failures raise ``DocumentError``
(corrupt, empty, encrypted, over a limit) or ``UnsupportedDocument`` (a type we do not read).
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import PurePath

from tsa.errors import DocumentError, UnsupportedDocument
from tsa.ingest import ocr
from tsa.ingest.editions import edition_from_text
from tsa.ingest.limits import ParseLimits, check_unpacked_size
from tsa.ingest.lines import blocks_from_lines, classify, without_running_lines
from tsa.ingest.outline import OutlineEntry, OutlineHeadings
from tsa.records import Block, ParsedDocument

# Called with (pages done, pages in all) as a PDF is read.
PageProgress = Callable[[int, int], None]
# A page with fewer letters than this has no usable text layer (a scan, perhaps with a page number).
_MIN_TEXT_LAYER_CHARS = 20

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise DocumentError("the file looks binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _title(blocks: list[Block], fallback: str) -> str:
    heading = next((b.text for b in blocks if b.kind == "heading"), None)
    return (heading or fallback)[:200]


def _open_pdf(data: bytes):  # noqa: ANN202 - pypdf's reader
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        # Many manuals are "protected" with an owner password only: they open with an empty one.
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("the PDF is encrypted with a password; upload an unprotected copy")
        return reader
    except (FileNotDecryptedError, DependencyError):
        raise DocumentError("the PDF is encrypted with a password; upload an unprotected copy") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(f"the PDF could not be read: {exc}") from exc


def _letters(lines: list[str]) -> int:
    return sum(ch.isalnum() for line in lines for ch in line)


def parse_pdf(data: bytes, name: str, limits: ParseLimits = ParseLimits(), on_page: PageProgress | None = None,
              use_ocr: bool = True) -> ParsedDocument:
    from pypdf.errors import PdfReadError

    reader = _open_pdf(data)
    try:
        total = len(reader.pages)
        if total > limits.max_pages:
            raise DocumentError(f"the PDF has {total} pages; the limit is {limits.max_pages} (PARSE_MAX_PAGES)")
        pages: list[list[str]] = []
        scanned: list[int] = []
        chars = 0
        for index, page in enumerate(reader.pages):
            lines = (page.extract_text(extraction_mode="layout") or "").splitlines()
            if _letters(lines) < _MIN_TEXT_LAYER_CHARS and use_ocr:
                scanned.append(index)
            pages.append(lines)
            chars += sum(len(line) for line in lines)
            if chars > limits.max_text_chars:
                raise DocumentError(f"the PDF holds more than {limits.max_text_chars} characters of text")
            if on_page:
                on_page(index + 1, total)
        meta_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
        entries = _outline_entries(reader)
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(f"the PDF could not be read: {exc}") from exc
    ocr_pages = _recognise_scanned(data, pages, scanned)
    lines = [(line, number) for number, page in enumerate(without_running_lines(pages), start=1)
             for line in page]
    outline = OutlineHeadings(entries)
    structure = "outline" if outline.trusted(lines) else "layout"
    blocks = blocks_from_lines(lines, outline if structure == "outline" else None)
    title = str(meta_title).strip() if meta_title else _title(blocks, PurePath(name).stem)
    first_page = "\n".join(pages[0]) if pages else ""
    return ParsedDocument(title, "pdf", blocks, page_count=len(pages), ocr_pages=ocr_pages,
                          edition=edition_from_text(first_page), structure=structure)


def _outline_entries(reader) -> list[OutlineEntry]:  # noqa: ANN001 - pypdf's reader
    """The PDF's bookmarks with their levels and pages; none when it has none or they are unreadable."""
    from pypdf.errors import PdfReadError

    entries: list[OutlineEntry] = []

    def walk(items: list, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            page = reader.get_destination_page_number(item)
            if page is not None and page >= 0 and getattr(item, "title", None):
                entries.append(OutlineEntry(str(item.title), level, page + 1))

    try:
        walk(reader.outline, 1)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return []
    return entries


def _recognise_scanned(data: bytes, pages: list[list[str]], scanned: list[int]) -> frozenset[int]:
    """OCR the pages without a text layer, in place; the page numbers (from 1) it filled."""
    if not scanned:
        return frozenset()
    if not ocr.available():
        if all(not _letters(page) for page in pages):
            raise DocumentError("the PDF has no text layer and OCR is not installed (Debian: tesseract-ocr)")
        return frozenset()
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        filled = set()
        for index in scanned:
            text = ocr.recognise(ocr.page_image(document, index)).splitlines()
            if _letters(text) > _letters(pages[index]):
                pages[index] = text
                filled.add(index + 1)
        return frozenset(filled)
    finally:
        document.close()


def parse_text(data: bytes, name: str) -> ParsedDocument:
    blocks = blocks_from_lines((line, None) for line in _decode(data).splitlines())
    return ParsedDocument(_title(blocks, PurePath(name).stem), "text", blocks, structure="layout")


def parse_markdown(data: bytes, name: str) -> ParsedDocument:
    lines: list[tuple[str, int | None]] = []
    headings: list[Block] = []
    blocks: list[Block] = []
    in_code = False
    for line in _decode(data).splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        match = None if in_code else _MD_HEADING.match(line)
        if match:
            blocks += blocks_from_lines(lines)
            lines = []
            heading = Block("heading", match.group(2), None, len(match.group(1)))
            blocks.append(heading)
            headings.append(heading)
        else:
            lines.append((re.sub(r"[*_`]{1,2}", "", line) if not in_code else line, None))
    blocks += blocks_from_lines(lines)
    # Inside Markdown only '#' makes a heading; upper-case lines stay paragraphs.
    blocks = [b if b.kind != "heading" or b in headings else Block("paragraph", b.text, b.page) for b in blocks]
    return ParsedDocument(_title(blocks, PurePath(name).stem), "markdown", blocks)


def parse_html(data: bytes, name: str) -> ParsedDocument:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(_decode(data))
    for node in tree.css("script, style, nav, noscript"):
        node.decompose()
    blocks: list[Block] = []
    for node in tree.css("h1, h2, h3, h4, h5, h6, p, li, tr, pre, blockquote, dt, dd"):
        text = " ".join(node.text(separator=" ").split())
        if not text:
            continue
        if node.tag[0] == "h" and node.tag[1:].isdigit():
            blocks.append(Block("heading", text, None, int(node.tag[1:])))
        elif node.tag == "li":
            blocks.append(Block("list_item", text))
        elif node.tag == "tr":
            blocks.append(Block("table", " | ".join(c.text(strip=True) for c in node.css("td, th"))))
        else:
            blocks.append(Block(_notice_or(text, "paragraph"), text))
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node and title_node.text(strip=True) else None
    return ParsedDocument(title or _title(blocks, PurePath(name).stem), "html", blocks)


def parse_docx(data: bytes, name: str, limits: ParseLimits = ParseLimits()) -> ParsedDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_unpacked_size(archive, limits.max_unpacked_bytes, "DOCX")
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"the DOCX could not be read: {exc}") from exc
    blocks: list[Block] = []
    for paragraph in document.paragraphs:
        text = " ".join(paragraph.text.split())
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if not text:
            continue
        if style.startswith("Heading") and style[7:].strip().isdigit():
            blocks.append(Block("heading", text, None, int(style[7:])))
        elif style == "Title":
            blocks.append(Block("heading", text, None, 1))
        elif "List" in style:
            blocks.append(Block("list_item", text))
        else:
            blocks.append(Block(_notice_or(text, "paragraph"), text))
    for table in document.tables:
        for row in table.rows:
            blocks.append(Block("table", " | ".join(cell.text.strip() for cell in row.cells)))
    title = document.core_properties.title or _title(blocks, PurePath(name).stem)
    return ParsedDocument(title, "docx", blocks)


def _notice_or(text: str, kind: str) -> str:
    return "notice" if classify(text)[0] == "notice" else kind


PARSERS: dict[str, Callable[[bytes, str], ParsedDocument]] = {
    ".pdf": parse_pdf, ".md": parse_markdown, ".markdown": parse_markdown, ".html": parse_html,
    ".htm": parse_html, ".txt": parse_text, ".text": parse_text, ".docx": parse_docx,
}


def detect_type(name: str, data: bytes) -> str:
    """The parser key for a file, by content signature first, then by extension."""
    suffix = PurePath(name).suffix.lower()
    if data.startswith(b"%PDF-"):
        return ".pdf"
    if suffix == ".pdf":
        raise DocumentError("the file is named .pdf but is not a PDF (corrupt or wrong type)")
    if suffix not in PARSERS:
        supported = ", ".join(sorted(PARSERS))
        raise UnsupportedDocument(f"unsupported file type {suffix or '(none)'!r}; supported: {supported}")
    return suffix


def parse_document(data: bytes, name: str, limits: ParseLimits = ParseLimits(),
                   on_page: PageProgress | None = None, use_ocr: bool = True) -> ParsedDocument:
    """Parse any supported file; raises when nothing usable can be extracted."""
    if not data.strip():
        raise DocumentError("the file is empty")
    kind = detect_type(name, data)
    if kind == ".pdf":
        parsed = parse_pdf(data, name, limits, on_page, use_ocr)
    else:
        parsed = parse_docx(data, name, limits) if kind == ".docx" else PARSERS[kind](data, name)
        if sum(len(b.text) for b in parsed.blocks) > limits.max_text_chars:
            raise DocumentError(f"the file holds more than {limits.max_text_chars} characters of text")
        first_lines = "\n".join(b.text for b in parsed.blocks[:20])
        parsed = dataclasses.replace(parsed, edition=edition_from_text(first_lines))
    if not parsed.blocks:
        raise DocumentError("no text could be extracted")
    return parsed


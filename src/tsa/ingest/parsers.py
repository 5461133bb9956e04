"""Parsers: bytes of a PDF, Markdown, HTML, plain-text or DOCX file → blocks with pages.

Every parser is blocking and CPU-bound; the pipeline runs them in a thread.
Failures raise ``DocumentError`` (corrupt, empty, encrypted) or
``UnsupportedDocument`` (a type we do not read).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import PurePath

from tsa.errors import DocumentError, UnsupportedDocument
from tsa.ingest.lines import blocks_from_lines, classify, without_running_lines
from tsa.records import Block, ParsedDocument

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


def parse_pdf(data: bytes, name: str) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("the PDF is encrypted; upload an unprotected copy")
        pages = [(page.extract_text(extraction_mode="layout") or "").splitlines() for page in reader.pages]
        meta_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(f"the PDF could not be read: {exc}") from exc
    lines = [(line, number) for number, page in enumerate(without_running_lines(pages), start=1)
             for line in page]
    blocks = blocks_from_lines(lines)
    title = str(meta_title).strip() if meta_title else _title(blocks, PurePath(name).stem)
    return ParsedDocument(title, "pdf", blocks, page_count=len(pages))


def parse_text(data: bytes, name: str) -> ParsedDocument:
    blocks = blocks_from_lines((line, None) for line in _decode(data).splitlines())
    return ParsedDocument(_title(blocks, PurePath(name).stem), "text", blocks)


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


def parse_docx(data: bytes, name: str) -> ParsedDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
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


def parse_document(data: bytes, name: str) -> ParsedDocument:
    """Parse any supported file; raises when nothing usable can be extracted."""
    if not data.strip():
        raise DocumentError("the file is empty")
    parsed = PARSERS[detect_type(name, data)](data, name)
    if not parsed.blocks:
        raise DocumentError("no text could be extracted (a scanned PDF needs OCR first)")
    return parsed


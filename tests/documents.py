"""Small documents made in memory for parser and ingestion tests."""

from __future__ import annotations

import io
import zipfile


def pdf_bytes(pages: list[list[str]], title: str = "Test manual") -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    for lines in pages:
        y = 800
        for line in lines:
            pdf.drawString(60, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def outlined_pdf_bytes(pages: list[list[str]], outline: list[tuple[str, int, int]]) -> bytes:
    """A PDF with bookmarks: ``outline`` holds (title, depth from 0, page index from 0)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for index, lines in enumerate(pages):
        y = 800
        for line in lines:
            pdf.drawString(60, y, line)
            y -= 16
        for n, (title, depth, page) in enumerate(outline):
            if page == index:
                pdf.bookmarkPage(f"entry-{n}")
                pdf.addOutlineEntry(title, f"entry-{n}", level=depth)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def encrypted_pdf_bytes(algorithm: str = "RC4-128") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes([["Secret procedure"]]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Coolant System", level=1)
    document.add_heading("Draining the coolant", level=2)
    document.add_paragraph("WARNING: Let the engine cool for 30 minutes before opening the cap.")
    document.add_paragraph("Place a 10 litre tray under drain cock DC-7.", style="List Number")
    document.add_paragraph("Open drain cock DC-7 and let the coolant run out.", style="List Number")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Coolant", "Capacity"
    table.cell(1, 0).text, table.cell(1, 1).text = "CL-50 glycol", "8.5 l"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


MARKDOWN = b"""# Compressor CX-9 Manual

## Oil change

Change the oil every 1000 hours.

WARNING: Vent the receiver before opening the oil filler.

1. Run the compressor for five minutes to warm the oil.
2. Drain the oil through valve OV-3.
3. Refill with 1.2 l of CXO-46 compressor oil.

## Fault codes

Fault F-31 means the discharge temperature is too high. Clean the cooler.
"""

HTML = b"""<html><head><title>Dryer DR-4 Guide</title><script>var x=1;</script></head><body>
<h1>Dryer DR-4</h1><h2>Replacing the desiccant</h2>
<p>CAUTION: Desiccant dust irritates the eyes.</p>
<ol><li>Depressurise tower T1.</li><li>Fill with 4 kg of DS-13 beads.</li></ol>
<h2>Alarms</h2><table><tr><th>Code</th><th>Meaning</th></tr><tr><td>A-05</td><td>Dew point high</td></tr></table>
</body></html>"""

TEXT = b"""GENERATOR G-12 QUICK GUIDE

1 Starting
Check the fuel level, then turn the key to RUN.

2 Stopping
Let the generator run without load for 3 minutes, then turn the key to OFF.
"""


def scanned_pdf_bytes(pdf: bytes, dpi: int = 200) -> bytes:
    """The PDF as a scanner would give it back: every page an image, no text layer."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    pages = [document[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(document))]
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:], resolution=dpi)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def bomb_zip_bytes(member: str, unpacked_mib: int, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip whose ``member`` unpacks to ``unpacked_mib`` MiB of zeros (a DOCX bomb when the member is
    word/document.xml); about 1 MiB on disk per GiB."""
    buffer = io.BytesIO()
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
        with archive.open(member, "w", force_zip64=True) as out:
            for _ in range(unpacked_mib):
                out.write(zeros)
    return buffer.getvalue()

"""Text for pages that have none: render the page (pypdfium2) and recognise it (Debian's tesseract).

Blocking; runs inside the parsing process, never in the service's own. Page segmentation mode 4
(one column of text of variable sizes) reads manual pages best (``bench/ocr.py``: mode 6, "one
uniform block", drops most of a page with a table), and tesseract keeps runs of spaces between
columns (``preserve_interword_spaces``), so table rows keep their columns as a text layer read in
layout mode does.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from tsa.errors import DocumentError

# 300 dpi is tesseract's sweet spot for body text; PDF user space is 72 units per inch.
RENDER_SCALE = 300 / 72
OCR_TIMEOUT_S = 120


def available() -> bool:
    return shutil.which("tesseract") is not None


def page_image(pdf: object, index: int) -> bytes:
    """Page ``index`` of a ``pypdfium2.PdfDocument`` as an 8-bit grey PGM image."""
    page = pdf[index]  # type: ignore[index]
    bitmap = page.render(scale=RENDER_SCALE, grayscale=True)
    pixels = bitmap.to_numpy()
    height, width = pixels.shape[:2]
    return f"P5\n{width} {height}\n255\n".encode() + pixels.reshape(height, width).tobytes()


def recognise(image: bytes, language: str = "eng") -> str:
    """The text of a PGM image, lines as tesseract reads them."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # one core per page; the workers give the parallelism
    try:
        result = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", language, "--psm", "4",
             "-c", "preserve_interword_spaces=1"],
            input=image, capture_output=True, timeout=OCR_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise DocumentError(f"OCR of a page took longer than {OCR_TIMEOUT_S} s") from None
    if result.returncode != 0:
        raise DocumentError(f"OCR failed: {result.stderr.decode(errors='replace').strip()[:200]}")
    return result.stdout.decode("utf-8", errors="replace")

"""OCR engines compared on rendered manual pages: accuracy against the text layer, and time per page.

    python -m bench.ocr [--rapidocr-python /path/to/venv/bin/python] [--dpi 300]

Each page of the sample manual (and of two generated manuals) is rendered as a scanner would
give it back (grey, no text layer) and read by Debian's tesseract (what tsa uses) and, side by
side, by RapidOCR (ONNX Runtime), which runs in its own virtual environment
(``python -m venv v && v/bin/pip install rapidocr_onnxruntime``) since it is not a dependency.
Accuracy: similarity of the recognised text to the page's text layer (case and spacing
ignored), the share of the page's numbers and part numbers read exactly (the facts a
technician needs), and the share of table rows read with their first and last cells on one line
(punctuation aside: "25 N·m" read as "25 N-m" counts).
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, table
from bench.ingest import manual_pdf
from tsa.ingest import ocr

_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9.\-/]*\d[A-Z0-9.\-/]*", re.IGNORECASE)

_RAPID = r'''
import json, sys, time
from rapidocr_onnxruntime import RapidOCR
engine = RapidOCR()
out = []
for path in sys.argv[1:]:
    started = time.perf_counter()
    result, _ = engine(path)
    boxes = sorted(result or [], key=lambda r: (sum(p[1] for p in r[0]) / 4, r[0][0][0]))
    lines, last_y = [], None
    for box, text, _score in boxes:
        y = sum(p[1] for p in box) / 4
        if last_y is None or abs(y - last_y) > 12:
            lines.append([])
        lines[-1].append(text)
        last_y = y
    out.append({"text": "\n".join("   ".join(parts) for parts in lines), "seconds": time.perf_counter() - started})
print(json.dumps(out))
'''


def pages_of(pdf: bytes, dpi: int) -> list[tuple[str, bytes]]:
    """(text layer, PGM image) per page."""
    import pypdfium2
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    document = pypdfium2.PdfDocument(pdf)
    scale = dpi / 72
    found = []
    for index, page in enumerate(reader.pages):
        bitmap = document[index].render(scale=scale, grayscale=True).to_numpy()
        height, width = bitmap.shape[:2]
        image = f"P5\n{width} {height}\n255\n".encode() + bitmap.reshape(height, width).tobytes()
        found.append((page.extract_text(extraction_mode="layout") or "", image))
    return found


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _letters_and_digits(text: str) -> str:
    """For matching table cells: "25 N·m" and "25 N-m" are the same reading of the fact."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def score(truth: str, read: str) -> tuple[float, float, float]:
    similarity = difflib.SequenceMatcher(None, _norm(truth), _norm(read), autojunk=False).ratio()
    wanted = _TOKEN.findall(truth)
    got = set(_TOKEN.findall(read))
    tokens = sum(t in got for t in wanted) / len(wanted) if wanted else 1.0
    # Table rows: a line of the text layer with a column gap; kept if its first and last cells
    # are found on one recognised line.
    rows = [re.split(r"\s{3,}", line.strip()) for line in truth.splitlines() if re.search(r"\S\s{3,}\S", line)]
    read_lines = [_letters_and_digits(line) for line in read.splitlines()]
    kept = sum(any(_letters_and_digits(r[0]) in line and _letters_and_digits(r[-1]) in line for line in read_lines)
               for r in rows)
    return similarity, tokens, kept / len(rows) if rows else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rapidocr-python", help="python of a virtual environment with rapidocr_onnxruntime")
    parser.add_argument("--dpi", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = [(ROOT / "samples" / "hf22-service-manual.pdf").read_bytes()]
        for seed in (1, 2):
            path = Path(tmp) / f"gen-{seed}.pdf"
            manual_pdf(path, 4, seed)
            pdfs.append(path.read_bytes())
        pages = [page for pdf in pdfs for page in pages_of(pdf, args.dpi)]
        results: dict[str, list[tuple[float, float, float, float]]] = {"tesseract": []}
        for truth, image in pages:
            started = time.perf_counter()
            read = ocr.recognise(image)
            results["tesseract"].append((*score(truth, read), time.perf_counter() - started))
        if args.rapidocr_python:
            paths = []
            for n, (_, image) in enumerate(pages):
                path = Path(tmp) / f"page-{n}.pgm"
                path.write_bytes(image)
                png = path.with_suffix(".png")
                subprocess.run([args.rapidocr_python, "-c", "import sys; from PIL import Image; "
                                "Image.open(sys.argv[1]).save(sys.argv[2])", str(path), str(png)], check=True)
                paths.append(str(png))
            output = subprocess.run([args.rapidocr_python, "-c", _RAPID, *paths], capture_output=True, text=True,
                                    check=True, env={"OMP_NUM_THREADS": "1"})
            read = json.loads(output.stdout)
            results["rapidocr"] = [(*score(truth, r["text"]), r["seconds"]) for (truth, _), r in zip(pages, read)]
    rows = []
    for engine, values in results.items():
        n = len(values)
        rows.append([engine, n, f"{sum(v[0] for v in values) / n:.3f}", f"{sum(v[1] for v in values) / n:.3f}",
                     f"{sum(v[2] for v in values) / n:.3f}", sum(v[3] for v in values) / n])
    print(table(["engine", "pages", "text similarity", "numbers and part numbers read", "table rows kept",
                 "seconds/page (1 core)"], rows))


if __name__ == "__main__":
    main()

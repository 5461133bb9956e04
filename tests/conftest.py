from pathlib import Path

import pytest

SAMPLE_PDF = Path(__file__).resolve().parent.parent / "samples" / "hf22-service-manual.pdf"


@pytest.fixture(scope="session")
def sample_pdf() -> bytes:
    return SAMPLE_PDF.read_bytes()

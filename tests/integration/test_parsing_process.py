"""The parsing process: a file that is too big, too slow or too hungry ends that process, with the reason."""

from __future__ import annotations

import pytest

from tests.documents import bomb_zip_bytes, pdf_bytes
from tsa.errors import DocumentError, UnsupportedDocument
from tsa.ingest import ChunkingParams
from tsa.ingest.isolation import parse_isolated
from tsa.ingest.limits import ParseLimits

pytestmark = pytest.mark.integration


async def _parts(data: bytes, size: int = 65536):
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def test_a_pdf_is_parsed_and_chunked_with_page_progress(sample_pdf):
    seen: list[tuple[int, int]] = []
    result = await parse_isolated(_parts(sample_pdf), "m.pdf", ParseLimits(), ChunkingParams(),
                                  on_pages=lambda done, total: seen.append((done, total)))
    assert result.page_count == 7 and len(result.chunks) > 5 and result.ocr_pages == frozenset()
    assert seen[-1] == (7, 7) and [d for d, _ in seen] == list(range(1, 8))
    assert {c.page_start for c in result.chunks} >= {1, 2, 3}


async def test_too_many_pages_fail_before_any_is_read():
    pdf = pdf_bytes([[f"page {n}"] for n in range(12)])
    with pytest.raises(DocumentError, match="12 pages; the limit is 10"):
        await parse_isolated(_parts(pdf), "long.pdf", ParseLimits(max_pages=10), ChunkingParams())


async def test_a_docx_bomb_is_refused_before_it_is_unpacked():
    bomb = bomb_zip_bytes("word/document.xml", 300, {"[Content_Types].xml": b"<Types/>"})
    with pytest.raises(DocumentError, match="decompression bomb"):
        await parse_isolated(_parts(bomb), "bomb.docx", ParseLimits(), ChunkingParams())


async def test_a_parser_that_needs_more_memory_than_allowed_fails_and_says_so():
    # 80 MB of one-line text: reading and splitting it needs several times that, over a 200 MiB cap.
    text = b"# Big\n\n" + b"word " * 16_000_000
    with pytest.raises(DocumentError, match="memory|200 MiB"):
        await parse_isolated(_parts(text), "big.txt", ParseLimits(memory_mb=200, max_text_chars=10**9),
                             ChunkingParams())


async def test_a_parser_that_takes_too_long_is_stopped():
    text = b"# Slow\n\n" + b"Tighten the bolt. " * 2_000_000
    with pytest.raises(DocumentError, match=r"more than 1 s \(PARSE_TIMEOUT_S\)"):
        await parse_isolated(_parts(text), "slow.md", ParseLimits(timeout_s=1, max_text_chars=10**9),
                             ChunkingParams())


async def test_an_unsupported_file_says_so():
    with pytest.raises(UnsupportedDocument):
        await parse_isolated(_parts(b"MZ\x90\x00 binary"), "tool.exe", ParseLimits(), ChunkingParams())


async def test_the_parsing_process_chunks_as_it_is_told_and_says_where_titles_came_from():
    from tsa.ingest import parse_document
    from tsa.ingest.chunking import chunk_blocks

    seal = "".join(f"The seal wears at the seal face; check seal kit SK-{n} for seal wear.\n\n" for n in range(3))
    motor = "".join(f"The motor bearing {n} needs grease; motor bearings run warm.\n\n" for n in range(3))
    text = f"# Maintenance\n\n{seal}{motor}{seal}".encode()
    for boundaries in ("structure", "semantic"):
        params = ChunkingParams(max_chars=500, overlap_chars=0, boundaries=boundaries)
        result = await parse_isolated(_parts(text), "notes.md", ParseLimits(), params)
        expected = chunk_blocks(parse_document(text, "notes.md").blocks, params)
        assert [c.text for c in result.chunks] == [c.text for c in expected]
        assert result.structure == "markup"
    assert (await parse_isolated(_parts(text), "notes.md", ParseLimits(), ChunkingParams(500, 0, "semantic"))
            ).chunks != (await parse_isolated(_parts(text), "notes.md", ParseLimits(), ChunkingParams(500, 0))).chunks

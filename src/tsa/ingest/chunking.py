"""Structure-aware chunking: sections by heading, procedures kept whole, bounded size.

Inside a section longer than a chunk, the cut goes either where the next unit no longer fits
("structure", the default) or, with "semantic" boundaries, where the meaning shifts most among the
places that keep chunks between a third and all of the size: the least lexical cohesion between
the units before and after (TextTiling's idea), so a topic is not cut in two when a nearby place
separates two topics.

Pure functions: blocks in, chunks out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from tsa.records import Block, Chunk

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_WORD = re.compile(r"[a-z][a-z0-9-]{2,}")
_STOP = frozenset("the and for with that this from are not you your can into its has have was were will "
                  "been which when then than also each all any may must should".split())


@dataclass
class _Unit:
    """Blocks that must stay together: a paragraph, or a procedure with its notices."""

    blocks: list[Block] = field(default_factory=list)
    procedure: bool = False

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)

    @property
    def pages(self) -> list[int]:
        return [b.page for b in self.blocks if b.page is not None]


@dataclass(frozen=True)
class ChunkingParams:
    max_chars: int = 1200
    overlap_chars: int = 200
    boundaries: str = "structure"  # or "semantic": cut where the meaning shifts (module docstring)


def _sections(blocks: list[Block]) -> list[tuple[tuple[str, ...], list[Block]]]:
    """Split at headings; each section carries its heading path."""
    path: list[str] = []
    sections: list[tuple[tuple[str, ...], list[Block]]] = [((), [])]
    for block in blocks:
        if block.kind == "heading":
            level = max(block.level, 1)
            path = path[: level - 1] + [block.text]
            sections.append((tuple(path), []))
        else:
            sections[-1][1].append(block)
    return [(p, b) for p, b in sections if b]


def _units(blocks: list[Block]) -> list[_Unit]:
    """Group steps with the notices around them and the sentence that introduces them."""
    units: list[_Unit] = []
    for block in blocks:
        steplike = block.kind in ("list_item", "notice")
        last = units[-1] if units else None
        if steplike and last is not None and (last.procedure or _introduces(last)):
            last.blocks.append(block)
            last.procedure = last.procedure or block.kind == "list_item"
        elif block.kind == "paragraph" and last is not None and last.procedure and _is_continuation(block):
            last.blocks.append(block)
        else:
            units.append(_Unit([block], procedure=block.kind == "list_item"))
    return units


def _introduces(unit: _Unit) -> bool:
    """Notices, optionally after a paragraph ending with ':', lead into the steps that follow them."""
    first, rest = unit.blocks[0], unit.blocks[1:]
    return (not unit.procedure and all(b.kind == "notice" for b in rest)
            and (first.kind == "notice" or first.text.endswith(":")))


def _is_continuation(block: Block) -> bool:
    return bool(block.text) and block.text[0].islower()


def _split_procedure(unit: _Unit, max_chars: int) -> list[_Unit]:
    """Split an oversize procedure between steps; every part repeats the notices before step one."""
    lead = []
    for block in unit.blocks:
        if block.kind == "list_item":
            break
        lead.append(block)
    parts: list[_Unit] = []
    current = _Unit(list(lead), procedure=True)
    for block in unit.blocks[len(lead):]:
        if len(current.text) + len(block.text) + 1 > max_chars and len(current.blocks) > len(lead):
            parts.append(current)
            current = _Unit(list(lead), procedure=True)
        current.blocks.append(block)
    parts.append(current)
    return parts


def _split_prose(unit: _Unit, max_chars: int) -> list[_Unit]:
    """Split an oversize paragraph at sentence ends (or hard, for run-on text)."""
    block = unit.blocks[0]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(block.text):
        while len(sentence) > max_chars:
            pieces.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if current and len(current) + len(sentence) + 1 > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return [_Unit([Block(block.kind, p, block.page, block.level)]) for p in pieces]


def _fit(units: list[_Unit], max_chars: int) -> list[_Unit]:
    fitted: list[_Unit] = []
    for unit in units:
        if len(unit.text) <= max_chars:
            fitted.append(unit)
        elif unit.procedure:
            fitted += _split_procedure(unit, max_chars)
        else:
            fitted += [piece for b in unit.blocks for piece in _split_prose(_Unit([b]), max_chars)]
    return fitted


def _tail(text: str, overlap_chars: int) -> str:
    """The last whole sentences (or words) of ``text`` within ``overlap_chars``."""
    if overlap_chars <= 0 or len(text) <= overlap_chars:
        return text if overlap_chars > 0 else ""
    window = text[-overlap_chars:]
    boundary = _SENTENCE_END.search(window)
    if boundary:
        return window[boundary.end():]
    space = window.find(" ")
    return window[space + 1:] if space >= 0 else window


def _pack(units: list[_Unit], max_chars: int) -> list[list[_Unit]]:
    """Fill each chunk until the next unit does not fit."""
    packed: list[list[_Unit]] = [[]]
    for unit in units:
        size = sum(len(u.text) + 1 for u in packed[-1])
        if packed[-1] and size + len(unit.text) > max_chars:
            packed.append([])
        packed[-1].append(unit)
    return packed


def _terms(units: list[_Unit]) -> Counter[str]:
    return Counter(w for u in units for w in _WORD.findall(u.text.lower()) if w not in _STOP)


def cohesion(before: Counter[str], after: Counter[str]) -> float:
    """Cosine similarity of two term-frequency vectors (0: no word in common)."""
    dot = sum(n * after[w] for w, n in before.items())
    norm = math.sqrt(sum(n * n for n in before.values())) * math.sqrt(sum(n * n for n in after.values()))
    return dot / norm if norm else 0.0


def _pack_semantic(units: list[_Unit], max_chars: int, window: int = 2) -> list[list[_Unit]]:
    """Cut where cohesion between the ``window`` units on either side is least, among the cuts that
    keep the chunk between a third of ``max_chars`` and ``max_chars`` (the later one on a tie)."""
    packed: list[list[_Unit]] = []
    start = 0
    while start < len(units):
        end, size = start, 0
        while end < len(units) and (end == start or size + len(units[end].text) + 1 <= max_chars):
            size += len(units[end].text) + 1
            end += 1
        if end == len(units):
            packed.append(units[start:])
            break
        cuts = [j for j in range(start + 1, end + 1)
                if sum(len(u.text) + 1 for u in units[start:j]) >= max_chars // 3] or [end]
        cut = min(cuts, key=lambda j: (cohesion(_terms(units[max(start, j - window):j]),
                                                _terms(units[j:j + window])), -j))
        packed.append(units[start:cut])
        start = cut
    return packed


def chunk_blocks(blocks: list[Block], params: ChunkingParams = ChunkingParams()) -> list[Chunk]:
    """Chunks no longer than ``max_chars`` (plus overlap), never crossing a section.

    Consecutive chunks of one section share ``overlap_chars`` of prose; a
    procedure is never cut to make room for overlap.
    """
    chunks: list[Chunk] = []
    pack = _pack_semantic if params.boundaries == "semantic" else _pack
    for path, section in _sections(blocks):
        packed = pack(_fit(_units(section), params.max_chars), params.max_chars)
        previous: list[_Unit] | None = None
        for group in packed:
            text = "\n".join(u.text for u in group)
            if previous is not None and not previous[-1].procedure and not group[0].procedure:
                overlap = _tail(previous[-1].text, params.overlap_chars)
                text = f"{overlap}\n{text}" if overlap else text
            pages = [p for u in group for p in u.pages]
            chunks.append(Chunk(len(chunks), text, path, min(pages, default=None), max(pages, default=None)))
            previous = group
    return chunks

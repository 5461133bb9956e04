"""The readable part of a fetched page (trafilatura drops navigation, ads and boilerplate) and its
cut into passages the size of the manuals' chunks. CPU work: callers run it off the event loop."""

from __future__ import annotations

import re

from tsa.websearch.fetch import Page

PASSAGE_CHARS = 900
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def main_text(page: Page) -> tuple[str, str]:
    """The page's title and main text ("" when it has none worth reading)."""
    if page.content_type == "text/plain":
        return page.final_url, page.text.strip()
    import trafilatura  # heavy import, only where pages are read

    text = trafilatura.extract(page.text, url=page.final_url, include_comments=False, include_tables=True,
                               favor_precision=True) or ""
    found = _TITLE.search(page.text)
    title = " ".join(found.group(1).split()) if found else page.final_url
    return title, text.strip()


def passages(text: str, max_chars: int = PASSAGE_CHARS) -> list[str]:
    """Paragraphs packed into passages of at most ``max_chars`` (a longer paragraph is cut at sentences)."""
    units: list[str] = []
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n|\n", text)):
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            units.append(paragraph)
            continue
        sentence_run = ""
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            if sentence_run and len(sentence_run) + 1 + len(sentence) > max_chars:
                units.append(sentence_run)
                sentence_run = ""
            sentence_run = f"{sentence_run} {sentence}".strip()[: max_chars]
        if sentence_run:
            units.append(sentence_run)
    packed: list[str] = []
    for unit in units:
        if packed and len(packed[-1]) + 1 + len(unit) <= max_chars:
            packed[-1] = f"{packed[-1]}\n{unit}"
        else:
            packed.append(unit)
    return packed

"""Identifier-like tokens (part numbers, error codes, sizes) for exact matching.

Full-text stemming splits ``HF-22`` into ``hf`` and ``-22``; a technician typing
the code wants exactly that code, so identifiers are indexed separately.
"""

from __future__ import annotations

import re

# Only tokens with a digit can be identifiers; the lookahead skips the others without a Python call.
_TOKEN = re.compile(r"(?<![\w-])(?=[A-Za-z0-9./-]*\d)[A-Za-z0-9]+(?:[-./][A-Za-z0-9]+)*")


def _is_identifier(token: str) -> bool:
    digits = sum(c.isdigit() for c in token)
    letters = sum(c.isalpha() for c in token)
    if digits == 0:
        return False
    if letters:
        return len(token) >= 2
    return "-" in token and digits >= 5  # 4471-0032, not 12-15


def identifier_spans(text: str) -> list[tuple[str, int, int]]:
    """Each identifier as written (upper-cased), with where it stands."""
    spans = []
    for match in _TOKEN.finditer(text):
        token = match.group(0).rstrip(".").upper()
        if _is_identifier(token):
            spans.append((token, match.start(), match.start() + len(token)))
    return spans


def extract_identifiers(text: str) -> list[str]:
    """Upper-cased identifiers in order of first appearance, each also without hyphens.

    >>> extract_identifiers("Fit filter HF-22 (M8x1.25 bolts); error E-17 at 230V, step 3.")
    ['HF-22', 'HF22', 'M8X1.25', 'E-17', 'E17', '230V']
    """
    found: dict[str, None] = {}
    for token, _, _ in identifier_spans(text):
        found[token] = None
        if "-" in token:
            found[token.replace("-", "")] = None
    return list(found)

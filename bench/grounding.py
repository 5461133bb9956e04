"""Cost of the grounding check per answer.

    python -m bench.grounding

Answers of realistic length (60–120 words, several quantities, part numbers and citations)
checked against five passages of about 1 200 characters each, as the service does after every
generated answer.
"""

from __future__ import annotations

import random
import time

from bench.common import summary_ms, table
from tsa.rag.grounding import check

_FACTS = ["25 N·m", "45 Nm", "6 bar", "90 °C", "2900 rpm", "HF-22-FC", "E-17", "10–15 N m", "4.0 kW", "M8x1.25"]


def _passage(rng: random.Random) -> str:
    words = []
    while sum(len(w) + 1 for w in words) < 1200:
        words.append(rng.choice(_FACTS) if rng.random() < 0.08 else rng.choice(
            "the pump casing bolt seal impeller valve check tighten replace motor shaft bearing".split()))
    return " ".join(words)


def _answer(rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(60, 120)):
        roll = rng.random()
        words.append(rng.choice(_FACTS) if roll < 0.06 else f"[{rng.randint(1, 5)}]" if roll < 0.09 else
                     rng.choice("tighten the casing bolts to then check the seal before".split()))
    return " ".join(words)


def main() -> None:
    rng = random.Random(5)
    cases = [(_answer(rng), [_passage(rng) for _ in range(5)]) for _ in range(2000)]
    for answer, passages in cases[:50]:  # warm the regex caches
        check(answer, passages)
    seconds = []
    for answer, passages in cases:
        started = time.perf_counter()
        check(answer, passages)
        seconds.append(time.perf_counter() - started)
    s = summary_ms(seconds)
    print(table(["answers", "p50 ms", "p95 ms", "p99 ms", "max ms"],
                [[s["n"], f"{s['p50']:.3f}", f"{s['p95']:.3f}", f"{s['p99']:.3f}", f"{s['max']:.3f}"]]))


if __name__ == "__main__":
    main()

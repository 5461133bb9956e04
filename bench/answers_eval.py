"""Answer quality on the evaluation sets: key facts, citations, refusals, grounding.

    python -m bench.answers_eval [--set NAME ...] [--model M] [--limit N] [--temperature T] [--passages N]

Runs on the configured store and fleet (embedded defaults when nothing is set). For every case
of the sets in ``evals/``: the answer's key-fact accuracy (each fact stated: quantities by value
and unit, anything else as text), citation correctness (a stated fact is in a passage the answer
cites), refusal accuracy on questions the manual does not answer (no source, or the answer says
the manuals do not cover it), and the share of answers whose checked claims are grounded.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field

from bench.common import ROOT, table
from tsa.config import load_settings
from tsa.container import open_container
from tsa.evaluation.runner import prepare
from tsa.evaluation.scoring import says_not_covered, states
from tsa.evaluation.sets import Case, load_sets
from tsa.rag import Question

@dataclass
class Tally:
    facts: int = 0
    facts_stated: int = 0
    stated_and_cited: int = 0
    unanswerable: int = 0
    refused: int = 0
    answered: int = 0
    grounded: int = 0
    seconds: list[float] = field(default_factory=list)


async def evaluate_case(container, case: Case, scope: frozenset[int],  # noqa: ANN001
                        args: argparse.Namespace, tally: Tally) -> None:
    started = time.perf_counter()
    answer = await container.rag.ask(Question(case.question, scope, model=args.model, max_tokens=160, use_cache=False,
                                              temperature=args.temperature, max_context_chunks=args.passages))
    async for _ in answer.pieces():
        pass
    tally.seconds.append(time.perf_counter() - started)
    if case.unanswerable:
        tally.unanswerable += 1
        tally.refused += not answer.sources or says_not_covered(answer.text)
        return
    tally.answered += 1
    tally.grounded += bool(answer.grounding and answer.grounding.supported)
    passages = dict(enumerate(answer.passages, start=1))  # as the model saw them, numbered as cited
    cited = [passages[n] for n in (answer.grounding.cited if answer.grounding else []) if n in passages]
    for fact in case.facts:
        tally.facts += 1
        if states(answer.text, fact):
            tally.facts_stated += 1
            tally.stated_and_cited += any(states(p, fact) for p in cited)


async def main(args: argparse.Namespace) -> None:
    sets = load_sets(ROOT / "evals", args.set)
    settings = load_settings()
    rows = []
    async with open_container(settings) as container:
        model = args.model or settings.chat_model
        for evaluation in sets:
            scope = await prepare(container, evaluation)
            tally = Tally()
            for case in evaluation.cases[:args.limit] if args.limit else evaluation.cases:
                await evaluate_case(container, case, scope, args, tally)
            stated = tally.facts_stated or 1
            rows.append([evaluation.name, model, args.temperature, args.passages, len(tally.seconds),
                         f"{tally.facts_stated / (tally.facts or 1):.3f}",
                         f"{tally.stated_and_cited / stated:.3f}", f"{tally.refused / (tally.unanswerable or 1):.3f}",
                         f"{tally.grounded / (tally.answered or 1):.3f}",
                         sorted(tally.seconds)[len(tally.seconds) // 2]])
            print(f"  {evaluation.name}: done", flush=True)
    print(table(["set", "model", "temperature", "passages", "questions", "key-fact accuracy", "citation correctness",
                 "refusal accuracy", "grounded share", "median s/answer"], rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", help="evaluation set (repeatable; default: all)")
    parser.add_argument("--model", help="chat model (default: CHAT_MODEL)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases of each set")
    parser.add_argument("--temperature", type=float, default=Question.temperature, help="sampling temperature")
    parser.add_argument("--passages", type=int, default=Question.max_context_chunks,
                        help="context passages per question (max_context_chunks)")
    asyncio.run(main(parser.parse_args()))

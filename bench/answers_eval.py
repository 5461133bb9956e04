"""Answer quality on the evaluation sets: key facts, citations, refusals, grounding.

    python -m bench.answers_eval [--set NAME ...] [--model M] [--limit N] [--temperature T] [--passages N]
                                 [--prompt default|small]

Runs on the configured store and fleet (embedded defaults when nothing is set). For every case
of the sets in ``evals/``: the answer's key-fact accuracy (each fact stated: quantities by value
and unit, anything else as text), citation correctness (a stated fact is in a passage the answer
cites), refusal accuracy on questions the manual does not answer (no source, or the answer says
the manuals do not cover it), and the share of answers whose checked claims are grounded.
``tsa eval --answers`` runs the same with the service's own settings.
"""

from __future__ import annotations

import argparse
import asyncio

from bench.common import ROOT, table
from tsa.config import load_settings
from tsa.container import open_container
from tsa.evaluation.answers import evaluate_answers
from tsa.evaluation.sets import load_sets
from tsa.rag import Question, prompt

# A candidate system prompt for very small models: shorter, the answer first, values copied.
SMALL_MODEL_PROMPT = (
    "Answer the question from the numbered passages. Copy values, units, part numbers and commands exactly "
    "as the passage writes them. Give the answer first, then the passage number in brackets, like [1]. "
    "If no passage answers the question, say: The manuals do not cover this."
)


async def main(args: argparse.Namespace) -> None:
    if args.prompt == "small":
        prompt.SYSTEM_PROMPT = SMALL_MODEL_PROMPT  # read by build_messages at every question
    rows = []
    async with open_container(load_settings()) as container:
        for evaluation in load_sets(ROOT / "evals", args.set):
            s = await evaluate_answers(container, evaluation, args.model, args.temperature, args.passages, args.limit)
            rows.append([s.name, s.model, args.prompt, args.temperature, args.passages, s.questions,
                         f"{s.key_fact_accuracy:.3f}", f"{s.citation_correctness:.3f}", f"{s.refusal_accuracy:.3f}",
                         f"{s.grounded_share:.3f}", round(s.median_s, 1)])
            print(f"  {evaluation.name}: done", flush=True)
    print(table(["set", "model", "prompt", "temperature", "passages", "questions", "key-fact accuracy",
                 "citation correctness", "refusal accuracy", "grounded share", "median s/answer"], rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", help="evaluation set (repeatable; default: all)")
    parser.add_argument("--model", help="chat model (default: CHAT_MODEL)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases of each set")
    parser.add_argument("--temperature", type=float, default=Question.temperature, help="sampling temperature")
    parser.add_argument("--prompt", choices=["default", "small"], default="default",
                        help="system prompt: the service's, or a shorter one for very small models")
    parser.add_argument("--passages", type=int, default=Question.max_context_chunks,
                        help="context passages per question (max_context_chunks)")
    asyncio.run(main(parser.parse_args()))

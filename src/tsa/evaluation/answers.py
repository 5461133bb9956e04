"""Answer quality on an evaluation set: every case through ``rag.ask`` (no cache), scored for key
facts, citations, refusals and grounding (README "Evaluation")."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from tsa.evaluation.runner import prepare
from tsa.evaluation.scoring import states
from tsa.evaluation.sets import Case, EvalSet
from tsa.rag import Question
from tsa.rag.prompt import says_not_covered

MAX_TOKENS = 160


@dataclass
class _Tally:
    facts: int = 0
    facts_stated: int = 0
    stated_and_cited: int = 0
    unanswerable: int = 0
    refused: int = 0
    answered: int = 0
    grounded: int = 0
    seconds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerScores:
    name: str
    model: str
    questions: int
    key_fact_accuracy: float  # facts stated (quantities by value and unit) / facts asked for
    citation_correctness: float  # stated facts found in a passage the answer cites / facts stated
    refusal_accuracy: float  # unanswerable questions refused (no source, or "not covered") / unanswerable
    grounded_share: float  # answers whose checked claims the passages back / answerable questions
    median_s: float


async def _score_case(container: Any, case: Case, question: Question, tally: _Tally) -> None:
    started = time.perf_counter()
    answer = await container.rag.ask(question)
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


async def evaluate_answers(container: Any, evaluation: EvalSet, model: str | None = None,
                           temperature: float = Question.temperature, passages: int = Question.max_context_chunks,
                           limit: int = 0) -> AnswerScores:
    scope = await prepare(container, evaluation)
    tally = _Tally()
    for case in evaluation.cases[:limit] if limit else evaluation.cases:
        question = Question(case.question, scope, model=model, max_tokens=MAX_TOKENS, use_cache=False,
                            temperature=temperature, max_context_chunks=passages)
        await _score_case(container, case, question, tally)
    return AnswerScores(
        evaluation.name, model or container.rag.chat_model, len(tally.seconds),
        tally.facts_stated / (tally.facts or 1), tally.stated_and_cited / (tally.facts_stated or 1),
        tally.refused / (tally.unanswerable or 1), tally.grounded / (tally.answered or 1),
        statistics.median(tally.seconds) if tally.seconds else 0.0)

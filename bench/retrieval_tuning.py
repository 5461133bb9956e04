"""Fusion weights and lexical ranking, tuned on every evaluation set at once (never one question).

    python -m bench.retrieval_tuning [--set NAME ...]

For each answerable case the three ranked lists (vector, full text, identifiers) are fetched once,
with BM25 and with ts_rank_cd, then fused offline for every combination of list weights and the
RRF constant. The table shows, per configuration, hit@5 and MRR@10 on each set and their mean;
"held out" picks the best configuration on all sets but one and scores it on that one, so a
configuration that only fits one manual shows as such.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from dataclasses import dataclass

from bench.common import ROOT, table
from tsa.config import load_settings
from tsa.container import open_container
from tsa.evaluation.runner import K, prepare
from tsa.evaluation.scoring import Retrieved, RetrievalScores, first_relevant_rank, score
from tsa.evaluation.sets import Case, load_sets
from tsa.store.fusion import reciprocal_rank_fusion
from tsa.store.pool import vector_literal
from tsa.store.search import LISTS, HybridRetriever, Ranking

WEIGHTS = (0.5, 1.0, 1.5, 2.0)
IDENTIFIER_WEIGHTS = (0.0, 1.0, 2.0)
RRF_KS = (10, 30, 60)


@dataclass(frozen=True)
class Config:
    lexical: str
    weights: tuple[float, float, float]
    rrf_k: int

    def __str__(self) -> str:
        return f"{self.lexical} w={','.join(f'{w:g}' for w in self.weights)} k={self.rrf_k}"


@dataclass
class Lists:
    case: Case
    by_lexical: dict[str, dict[str, list[int]]]


async def collect(container, evaluation, lexicals: list[str]  # noqa: ANN001
                  ) -> tuple[list[Lists], dict[int, Retrieved]]:
    scope = await prepare(container, evaluation)
    retrievers = {name: HybridRetriever(container.pool, ranking=Ranking(name)) for name in lexicals}
    collected = []
    for case in evaluation.answerable:
        vectors, _ = await container.caches.embeddings.lookup([case.question], use_cache=True)
        vector = vector_literal(vectors[0])
        by_lexical = {name: await r.ranked_lists(case.question, vector, 40, scope) for name, r in retrievers.items()}
        collected.append(Lists(case, by_lexical))
    ids = {i for lists in collected for ranked in lists.by_lexical.values() for ids in ranked.values() for i in ids}
    rows = await container.pool.fetch("SELECT c.id, d.source, c.page_start, c.page_end FROM chunks c"
                                      " JOIN documents d ON d.id = c.document_id WHERE c.id = ANY($1::bigint[])",
                                      sorted(ids))
    return collected, {r["id"]: Retrieved(r["source"], r["page_start"], r["page_end"]) for r in rows}


def evaluate(config: Config, collected: list[Lists], chunks: dict[int, Retrieved]) -> RetrievalScores:
    ranks = []
    for lists in collected:
        fused = reciprocal_rank_fusion(lists.by_lexical[config.lexical], config.rrf_k,
                                       dict(zip(LISTS, config.weights, strict=True)))[:K]
        hits = [chunks[i] for i, _, _ in fused]
        ranks.append(first_relevant_rank(hits, lists.case.document or "", lists.case.pages))
    return score(ranks)


def configs(lexicals: list[str]) -> list[Config]:
    return [Config(lexical, (wv, wl, wi), k) for lexical in lexicals for wv, wl, wi, k
            in itertools.product(WEIGHTS, WEIGHTS, IDENTIFIER_WEIGHTS, RRF_KS)]


def mean(scores: list[RetrievalScores]) -> float:
    return sum(s.mrr_at_10 + s.hit_at_5 for s in scores) / (2 * len(scores))


async def main(args: argparse.Namespace) -> None:
    sets = load_sets(ROOT / "evals", args.set)
    lexicals = ["bm25", "ts_rank_cd"]
    data = {}
    async with open_container(load_settings()) as container:
        for evaluation in sets:
            data[evaluation.name] = await collect(container, evaluation, lexicals)
    names = list(data)
    results = {c: {n: evaluate(c, *data[n]) for n in names} for c in configs(lexicals)}
    ranked = sorted(results, key=lambda c: -mean(list(results[c].values())))
    default = Config("bm25", Ranking().weights, Ranking().rrf_k)
    before = Config("ts_rank_cd", (1.0, 1.0, 1.0), 60)
    shown = list(dict.fromkeys([before, Config("bm25", (1.0, 1.0, 1.0), 60), default, *ranked[:args.top]]))
    headers = ["configuration", *[f"{n} hit@5 / MRR" for n in names], "mean"]
    rows = [[str(c), *[f"{results[c][n].hit_at_5:.3f} / {results[c][n].mrr_at_10:.3f}" for n in names],
             f"{mean(list(results[c].values())):.3f}"] for c in shown]
    print(table(headers, rows))
    held = []
    for out in names:
        best = max(results, key=lambda c: mean([results[c][n] for n in names if n != out]))
        held.append([out, str(best), f"{results[best][out].hit_at_5:.3f} / {results[best][out].mrr_at_10:.3f}",
                     f"{results[default][out].hit_at_5:.3f} / {results[default][out].mrr_at_10:.3f}"])
    print()
    print(table(["held-out set", "best on the others", "its hit@5 / MRR there", "default's hit@5 / MRR"], held))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", help="evaluation set (repeatable; default: all)")
    parser.add_argument("--top", type=int, default=8, help="how many of the best configurations to show")
    asyncio.run(main(parser.parse_args()))

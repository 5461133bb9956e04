"""Answer quality as numbers: evaluation sets (``evals/``), retrieval scoring and the runner."""

from tsa.evaluation.runner import SetResult, evaluate_retrieval
from tsa.evaluation.scoring import RetrievalScores
from tsa.evaluation.sets import EvalSet, load_sets

__all__ = ["EvalSet", "RetrievalScores", "SetResult", "evaluate_retrieval", "load_sets"]

"""Evaluation sets: YAML files of questions written by reading real manuals (``evals/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tsa.errors import InvalidValue, NotFound


@dataclass(frozen=True)
class Case:
    question: str
    kind: str
    document: str | None = None
    pages: tuple[int, ...] = ()
    facts: tuple[str, ...] = ()
    unanswerable: bool = False


@dataclass(frozen=True)
class EvalSet:
    name: str
    description: str
    documents: tuple[Path, ...]
    cases: tuple[Case, ...] = field(default_factory=tuple)
    # Instead of documents to ingest: collections already in the store, by name (sets made from
    # feedback ask about the documents people use).
    collections: tuple[str, ...] = ()

    @property
    def answerable(self) -> list[Case]:
        return [c for c in self.cases if not c.unanswerable]


def _case(raw: dict, where: str) -> Case:
    unanswerable = bool(raw.get("unanswerable", False))
    if not raw.get("question"):
        raise InvalidValue(f"{where}: a case needs a question")
    if not unanswerable and not raw.get("document"):
        raise InvalidValue(f"{where}: {raw['question']!r} needs a document (or unanswerable: true)")
    return Case(raw["question"], raw.get("kind", "general"), raw.get("document"), tuple(raw.get("pages", ())),
                tuple(str(f) for f in raw.get("facts", ())), unanswerable)


def load_set(path: Path, root: Path) -> EvalSet:
    raw = yaml.safe_load(path.read_text())
    documents = tuple((root / d["path"]) for d in raw.get("documents") or [])
    collections = tuple(str(c) for c in raw.get("collections") or [])
    if not documents and not collections:
        raise InvalidValue(f"{path.name}: a set needs documents (files to ingest) or collections (in the store)")
    for document in documents:
        if not document.is_file():
            raise NotFound(f"{path.name}: {document} is not there (./scripts/install-manuals installs the manuals "
                           "the sets ask about)")
    cases = tuple(_case(c, f"{path.name} case {n}") for n, c in enumerate(raw["cases"], start=1))
    return EvalSet(raw["name"], raw.get("description", ""), documents, cases, collections)


def available_sets(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_sets(folder: Path, names: list[str] | None = None) -> list[EvalSet]:
    found = available_sets(folder)
    wanted = names or list(found)
    missing = [n for n in wanted if n not in found]
    if missing:
        raise NotFound(f"no evaluation set named {', '.join(missing)} in {folder} (there are: {', '.join(found)})")
    return [load_set(found[name], folder.parent) for name in wanted]

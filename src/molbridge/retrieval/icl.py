"""Training-free in-context predictions: retrieve examples, re-rank, prompt a causal LM, extract.

For every test record: its retrieved pool candidates (best first) are narrowed to `k` by a
selector (`rerank.SELECTORS`), written into the task's template (ICMA's wording) under
`max_prompt_tokens`, and answered greedily up to the first newline. The answer is read by the
task's answer kind (the one extractor: a leading "Caption:" / "Molecule:" label removed, a
molecule's first token), so the rows are MolT5 prediction rows that `molbridge eval` scores; an
empty answer is scored as invalid, not dropped. MMR needs similarities between candidates: Morgan
Tanimoto between pool molecules for tasks searched by molecule, token-set Jaccard between the
candidates' input texts otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from rdkit import DataStructs

from molbridge.chem.fingerprints import BitVect, morgan_bits
from molbridge.chem.parse import to_mol
from molbridge.errors import InvalidMolecule, MolbridgeError
from molbridge.models.causal_lm import chat_prompt, count_tokens, generate
from molbridge.progress import ProgressFn
from molbridge.records import Record
from molbridge.retrieval.baselines import Retrieved
from molbridge.retrieval.bm25 import tokenize_default
from molbridge.retrieval.neighbours import Neighbours
from molbridge.retrieval.prompts import STYLES, PromptBudgetError, build_prompt
from molbridge.retrieval.rerank import SELECTORS, mmr, random_walk, top
from molbridge.tasks import Task

T = TypeVar("T")


class IclSettingsError(MolbridgeError, ValueError):
    """In-context settings that cannot work together (k, selector, style, budget)."""


@dataclass(frozen=True)
class IclSettings:
    """How examples are chosen and shown, and how much the model may read and write."""

    k: int = 2
    selector: str = "top"
    skip: float = 0.3  # random walk: probability of passing over a candidate
    lam: float = 0.7  # MMR: relevance vs diversity
    style: str = "chat"
    most_similar_last: bool = True
    max_prompt_tokens: int = 1536
    max_new_tokens: int = 128
    batch_size: int = 4
    seed: int = 0

    def check(self) -> None:
        if self.k < 0:
            raise IclSettingsError(f"k must be >= 0, got {self.k}")
        if self.selector not in SELECTORS:
            raise IclSettingsError(f"unknown selector {self.selector!r}; expected one of {', '.join(SELECTORS)}")
        if self.style not in STYLES:
            raise IclSettingsError(f"unknown prompt style {self.style!r}; expected one of {', '.join(STYLES)}")
        if self.max_prompt_tokens < 1 or self.max_new_tokens < 1 or self.batch_size < 1:
            raise IclSettingsError("max_prompt_tokens, max_new_tokens and batch_size must be positive")


def fixed_subset(records: Sequence[T], n: int | None, seed: int = 0) -> list[T]:
    """A seeded random sample of `n` records kept in file order (all records when `n` is None or larger).

    Why: LLM generation on CPU is slow, so benchmarks and quick checks score a subset; sampling
    rather than taking the head keeps it representative and the seed keeps it the same everywhere.
    """
    if n is not None and n < 1:
        raise IclSettingsError(f"subset size must be >= 1, got {n}")
    if n is None or n >= len(records):
        return list(records)
    chosen = np.sort(np.random.default_rng(seed).choice(len(records), size=n, replace=False))
    return [records[i] for i in chosen]


def from_neighbours(neighbours: Neighbours, pool: Sequence[Record], queries: Sequence[Record], k: int) -> Retrieved:
    """Top-`k` candidates of each query from an ICMA neighbour file (rows name records by CID), as pool positions.

    A query absent from the file, or a neighbour CID absent from the pool, is an issue (that query
    gets fewer candidates), never an error that loses the other queries.
    """
    position = {subject_id(p): i for i, p in enumerate(pool)}
    indices = np.full((len(queries), k), -1, np.int64)
    scores = np.full((len(queries), k), np.nan)
    issues = []
    for row, query in enumerate(queries):
        cid = subject_id(query)
        if cid not in neighbours.by_query:
            issues.append(f"query CID {cid}: not in the neighbour file; no examples")
            continue
        found = [(position[n], s) for n, s in neighbours.by_query[cid] if n in position][:k]
        missing = [n for n, _ in neighbours.by_query[cid] if n not in position]
        if missing:
            issues.append(f"query CID {cid}: neighbours {', '.join(missing)} are not in the pool")
        for slot, (i, s) in enumerate(found):
            indices[row, slot], scores[row, slot] = i, s
    return Retrieved(indices, scores, issues)


def subject_id(record: Record) -> str:
    """The id neighbour files use: the source's own id (a ChEBI-20 CID), else the record id."""
    return record.meta.source_id or record.id


def select_examples(task: Task, pool: Sequence[Record], candidates: Sequence[int], scores: Sequence[float],
                    settings: IclSettings, rng: np.random.Generator) -> list[int]:
    """`settings.k` pool positions out of the ranked candidates (best first)."""
    if settings.selector == "top":
        return top(candidates, settings.k)
    if settings.selector == "random_walk":
        return random_walk(candidates, settings.k, skip=settings.skip, rng=rng)
    return mmr(candidates, np.nan_to_num(np.asarray(scores, float)), _similarity(task, pool, candidates),
               settings.k, lam=settings.lam)


def _similarity(task: Task, pool: Sequence[Record], candidates: Sequence[int]) -> np.ndarray:
    """Similarity between candidates in what the task is searched by: molecules' Morgan Tanimoto, or
    the token-set Jaccard of their input texts."""
    if task.query == "molecule":
        fps: list[BitVect | None] = []
        for i in candidates:
            try:
                fps.append(morgan_bits(to_mol(task.molecule(pool[i]))))
            except InvalidMolecule:
                fps.append(None)
        sim = np.zeros((len(fps), len(fps)))
        for a, fa in enumerate(fps):
            if fa is not None:
                sim[a] = [DataStructs.TanimotoSimilarity(fa, fb) if fb is not None else 0.0 for fb in fps]
        return sim
    sets = [set(tokenize_default(task.source.get(pool[i]))) for i in candidates]
    return np.array([[len(a & b) / len(a | b) if a | b else 0.0 for b in sets] for a in sets])


def icl_prompts(task: Task, pool: Sequence[Record], queries: Sequence[Record], found: Retrieved,
                settings: IclSettings, tokenizer) -> tuple[list[str | None], list[int], list[str]]:
    """One prompt per query in the task's template (`Task.examples_template`), how many examples each kept under
    the budget, and why a query has no prompt.

    A query whose request alone is over the budget gets no prompt (None), named in the issues: the caller
    answers it with nothing, scored as invalid (or leaves a training record out), never dropped silently.
    """
    settings.check()
    rng = np.random.default_rng(settings.seed)
    prompts: list[str | None] = []
    kept, issues = [], []
    for row, record in enumerate(queries):
        valid = found.indices[row] >= 0
        candidates = [int(i) for i in found.indices[row][valid]]
        chosen = select_examples(task, pool, candidates, found.scores[row][valid], settings, rng)
        examples = [(task.example_input(pool[i]), task.target.get(pool[i])) for i in chosen]
        try:
            prompt = build_prompt(task.examples_template, task.in_context_query(record), examples, style=settings.style,
                                  most_similar_last=settings.most_similar_last,
                                  max_tokens=settings.max_prompt_tokens - settings.max_new_tokens,
                                  count_tokens=lambda text: count_tokens(tokenizer, text),
                                  wrap=lambda text: chat_prompt(tokenizer, text), record=record.id)
        except PromptBudgetError as err:
            issues.append(str(err))
            prompts.append(None)
            kept.append(0)
            continue
        text = prompt.text
        if not prompt.n_examples and task.template is None and settings.style == "chat":
            text = chat_prompt(tokenizer, task.request(record))  # asked plainly, not "as in the examples above"
        prompts.append(text)
        kept.append(prompt.n_examples)
    return prompts, kept, issues


def icl_predictions(task: Task, pool: Sequence[Record], test: Sequence[Record], found: Retrieved, model, tokenizer,
                    settings: IclSettings = IclSettings(), progress: ProgressFn | None = None,
                    ) -> tuple[list[tuple[str, str, str]], list[str]]:
    """MolT5-format rows `(input, ground truth, output)` answered in context (first line of each reply), and issues."""
    prompts, kept, over = icl_prompts(task, pool, test, found, settings, tokenizer)
    issues = list(found.issues) + [f"{reason}; answered empty, scored invalid" for reason in over]
    asked = [(i, p) for i, p in enumerate(prompts) if p is not None]
    replies = [""] * len(test)
    generated = generate(model, tokenizer, [p for _, p in asked], max_new_tokens=settings.max_new_tokens,
                         batch_size=settings.batch_size, stop=("\n",), progress=progress) if asked else []
    for (i, _), reply in zip(asked, generated, strict=True):
        replies[i] = reply
    rows = []
    for record, reply, n, prompt in zip(test, replies, kept, prompts, strict=True):
        answer = task.answer.extract(reply)
        if prompt is not None and not answer:
            issues.append(f"{record.id}: empty answer")
        if prompt is not None and n < settings.k:
            issues.append(f"{record.id}: {n} of {settings.k} examples fit the prompt budget")
        rows.append((task.source.get(record, stored=True), task.target.get(record, stored=True), answer))
    return rows, issues

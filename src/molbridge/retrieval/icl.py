"""Training-free in-context predictions: retrieve examples, re-rank, prompt a causal LM, extract.

For every test record: its retrieved pool candidates (best first) are narrowed to `k` by a
selector (`rerank.SELECTORS`), written into an ICMA prompt that fits `max_prompt_tokens`, and
answered greedily. The answer is the first line of the reply without a leading "Caption:" /
"Molecule:" label (and, for molecules, its first whitespace-separated token), so the rows are
MolT5 prediction rows that `molbridge eval` scores; an empty answer is scored as invalid, not
dropped. MMR needs similarities between candidates: Morgan Tanimoto between pool molecules for
molecule → caption, token-set Jaccard between pool captions for caption → molecule.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import DataStructs

from molbridge.chem.fingerprints import morgan_bits
from molbridge.chem.parse import to_mol
from molbridge.data.sources.chebi20 import ChEBI20Record
from molbridge.errors import InvalidMolecule, MolbridgeError
from molbridge.models.causal_lm import chat_prompt, count_tokens, generate
from molbridge.retrieval.baselines import Retrieved
from molbridge.retrieval.bm25 import tokenize_default
from molbridge.retrieval.neighbours import Neighbours
from molbridge.retrieval.prompts import STYLES, build_prompt
from molbridge.retrieval.rerank import SELECTORS, mmr, random_walk, top

logger = logging.getLogger(__name__)


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


_LABEL = {"mol2text": re.compile(r"^\s*caption\s*:\s*", re.I), "text2mol": re.compile(r"^\s*molecule\s*:\s*", re.I)}


def fixed_subset(records: Sequence[ChEBI20Record], n: int | None, seed: int = 0) -> list[ChEBI20Record]:
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


def from_neighbours(neighbours: Neighbours, pool: Sequence[ChEBI20Record], queries: Sequence[ChEBI20Record],
                    k: int) -> Retrieved:
    """Top-`k` candidates of each query from an ICMA neighbour file, as pool positions.

    A query absent from the file, or a neighbour CID absent from the pool, is an issue (that query
    gets fewer candidates), never an error that loses the other queries.
    """
    position = {p.cid: i for i, p in enumerate(pool)}
    indices = np.full((len(queries), k), -1, np.int64)
    scores = np.full((len(queries), k), np.nan)
    issues = []
    for row, query in enumerate(queries):
        if query.cid not in neighbours.by_query:
            issues.append(f"query CID {query.cid}: not in the neighbour file; no examples")
            continue
        found = [(position[n], s) for n, s in neighbours.by_query[query.cid] if n in position][:k]
        missing = [n for n, _ in neighbours.by_query[query.cid] if n not in position]
        if missing:
            issues.append(f"query CID {query.cid}: neighbours {', '.join(missing)} are not in the pool")
        for slot, (i, s) in enumerate(found):
            indices[row, slot], scores[row, slot] = i, s
    return Retrieved(indices, scores, issues)


def extract_answer(task: str, reply: str) -> str:
    """The answer in a model reply: first non-empty line, label removed; a molecule's first token."""
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    answer = _LABEL[task].sub("", lines[0]).strip()
    if task == "text2mol":
        answer = answer.split()[0] if answer.split() else ""
        # quotes or code marks around it and sentence punctuation after it are not SMILES
        answer = answer.strip("`'\"").rstrip(".,;").strip("`'\"")
    return answer


def select_examples(task: str, pool: Sequence[ChEBI20Record], candidates: Sequence[int], scores: Sequence[float],
                    settings: IclSettings, rng: np.random.Generator) -> list[int]:
    """`settings.k` pool positions out of the ranked candidates (best first)."""
    if settings.selector == "top":
        return top(candidates, settings.k)
    if settings.selector == "random_walk":
        return random_walk(candidates, settings.k, skip=settings.skip, rng=rng)
    return mmr(candidates, np.nan_to_num(np.asarray(scores, float)), _similarity(task, pool, candidates),
               settings.k, lam=settings.lam)


def _similarity(task: str, pool: Sequence[ChEBI20Record], candidates: Sequence[int]) -> np.ndarray:
    if task == "mol2text":
        fps = []
        for i in candidates:
            try:
                fps.append(morgan_bits(to_mol(pool[i].smiles)))
            except InvalidMolecule:
                fps.append(None)
        sim = np.zeros((len(fps), len(fps)))
        for a, fa in enumerate(fps):
            if fa is not None:
                sim[a] = [DataStructs.TanimotoSimilarity(fa, fb) if fb is not None else 0.0 for fb in fps]
        return sim
    sets = [set(tokenize_default(pool[i].description)) for i in candidates]
    return np.array([[len(a & b) / len(a | b) if a | b else 0.0 for b in sets] for a in sets])


def build_prompts(task: str, pool: Sequence[ChEBI20Record], test: Sequence[ChEBI20Record], found: Retrieved,
                  settings: IclSettings, tokenizer) -> tuple[list[str], list[int]]:
    """One prompt per test record and how many examples each kept under the budget."""
    settings.check()
    rng = np.random.default_rng(settings.seed)
    prompts, kept = [], []
    for row, record in enumerate(test):
        valid = found.indices[row] >= 0
        candidates = [int(i) for i in found.indices[row][valid]]
        chosen = select_examples(task, pool, candidates, found.scores[row][valid], settings, rng)
        examples = [_shown(task, pool[i]) for i in chosen]
        prompt = build_prompt(task, _shown(task, record)[0], examples, style=settings.style,
                              most_similar_last=settings.most_similar_last,
                              max_tokens=settings.max_prompt_tokens - settings.max_new_tokens,
                              count_tokens=lambda text: count_tokens(tokenizer, text),
                              wrap=lambda text: chat_prompt(tokenizer, text), record=f"CID {record.cid}")
        prompts.append(prompt.text)
        kept.append(prompt.n_examples)
    return prompts, kept


def icl_predictions(task: str, pool: Sequence[ChEBI20Record], test: Sequence[ChEBI20Record], found: Retrieved,
                    model, tokenizer, settings: IclSettings = IclSettings(),
                    progress: Callable[[int], None] | None = None) -> tuple[list[tuple[str, str, str]], list[str]]:
    """MolT5-format rows `(input, ground truth, output)` answered in context, and issues."""
    prompts, kept = build_prompts(task, pool, test, found, settings, tokenizer)
    replies = generate(model, tokenizer, prompts, max_new_tokens=settings.max_new_tokens,
                       batch_size=settings.batch_size, stop=("\n",), progress=progress)
    rows, issues = [], list(found.issues)
    for record, reply, n in zip(test, replies, kept):
        answer = extract_answer(task, reply)
        if not answer:
            issues.append(f"CID {record.cid}: empty answer")
        if n < settings.k:
            issues.append(f"CID {record.cid}: {n} of {settings.k} examples fit the prompt budget")
        rows.append((record.smiles_raw, record.description, answer) if task == "mol2text"
                    else (record.description, record.smiles_raw, answer))
    return rows, issues


def _shown(task: str, record: ChEBI20Record) -> tuple[str, str]:
    """(source, target) as the model reads them: SMILES unescaped (ChEBI-20 doubles backslashes)."""
    if task == "mol2text":
        return record.smiles, record.description
    return record.description, record.smiles

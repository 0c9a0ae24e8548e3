"""Molecule ↔ text retrieval with a stage-1 model (3D-MoLM's protocol), scored by `eval.retrieval_metrics`.

Similarity of a molecule and a text = the best of the molecule's query tokens against the text's
[CLS] feature, as in training. Reported in both directions, in-batch (consecutive batches of 64,
3D-MoLM's protocol) and over the whole split, each without and with re-ranking: the top 64
candidates of each query re-scored by similarity + the matching head's logit for "match" (3D-MoLM
adds the two), the rest kept below them in their similarity order. Ties rank pessimistically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from molbridge.eval.results import MetricReport
from molbridge.eval.retrieval_metrics import retrieval_report
from molbridge.models.encoders import EncoderKind
from molbridge.progress import ProgressFn, report


@dataclass(frozen=True)
class Pair:
    id: str
    item: Any  # the encoder input
    caption: str


@dataclass
class Encoded:
    """What scoring and re-ranking need of every pair: features, and the inputs of a joint (matching) pass."""

    mols: torch.Tensor  # (n, queries, d), normalised
    texts: torch.Tensor  # (n, d), normalised
    states: list[torch.Tensor]  # per molecule: encoder states of its real positions (after the Q-Former's norm)
    text_ids: torch.Tensor  # (n, t), one padding for the whole split
    text_mask: torch.Tensor


@torch.inference_mode()
def encode_pairs(model, tokenizer, kind: EncoderKind, pairs: Sequence[Pair], *, batch_size: int = 32,
                 max_text_tokens: int = 128, progress: ProgressFn | None = None) -> Encoded:
    text = tokenizer([p.caption for p in pairs], padding=True, truncation=True, max_length=max_text_tokens,
                     padding_side="right", return_tensors="pt")  # match_logits cuts the padding off the right
    mols, texts, states = [], [], []
    for start in range(0, len(pairs), batch_size):
        chunk = slice(start, start + batch_size)
        encoded = model.encoder(**kind.collate([p.item for p in pairs[chunk]]))
        mols.append(F.normalize(model.mol_proj(model.projector.query(encoded.states, encoded.padding)), dim=-1))
        normed = model.projector.ln_encoder(encoded.states)
        states += [row[~pad] for row, pad in zip(normed, encoded.padding, strict=True)]
        embeds = model.projector.text_embeddings(input_ids=text["input_ids"][chunk])
        cls = model.projector.qformer(query_embeds=embeds, query_length=0,
                                      attention_mask=text["attention_mask"][chunk]).last_hidden_state[:, 0]
        texts.append(F.normalize(model.text_proj(cls), dim=-1))
        report(progress, "encode", min(start + batch_size, len(pairs)), len(pairs), unit="pairs")
    return Encoded(torch.cat(mols), torch.cat(texts), states, text["input_ids"], text["attention_mask"])


def similarities(encoded: Encoded) -> np.ndarray:
    """scores[i, j]: molecule i against text j (max over query tokens)."""
    return torch.einsum("iqd,jd->ijq", encoded.mols, encoded.texts).amax(-1).double().numpy()


@torch.inference_mode()
def match_logits(model, encoded: Encoded, mols: Sequence[int], texts: Sequence[int]) -> np.ndarray:
    """The matching head's "match" logit for each (molecule, text) pair given by index."""
    states = [encoded.states[i] for i in mols]
    width = max(s.shape[0] for s in states)
    molecule = torch.stack([F.pad(s, (0, 0, 0, width - s.shape[0])) for s in states])
    padding = torch.stack([torch.arange(width) >= s.shape[0] for s in states])
    length = int(encoded.text_mask[list(texts)].sum(1).max())
    ids, mask = encoded.text_ids[list(texts), :length], encoded.text_mask[list(texts), :length]
    logits = model.joint(molecule, padding, model.projector.text_embeddings(input_ids=ids), mask)
    return logits[:, 1].double().numpy()


def rescored(model, encoded: Encoded, queries: np.ndarray, candidates: Callable[[int], np.ndarray], *,
             molecule_queries: bool, progress: ProgressFn | None = None) -> np.ndarray:
    """Query-row scores whose `candidates(row)` are re-scored by similarity + match logit; every other
    candidate is kept below them in its similarity order."""
    out = queries - (queries.max() - queries.min() + 1e3)
    for row in range(queries.shape[0]):
        chosen = candidates(row)
        pairs = ([row] * len(chosen), chosen.tolist()) if molecule_queries else (chosen.tolist(), [row] * len(chosen))
        out[row, chosen] = queries[row, chosen] + match_logits(model, encoded, *pairs)
        report(progress, "rerank", row + 1, queries.shape[0], unit="queries")
    return out


def retrieval_reports(model, tokenizer, kind: EncoderKind, pairs: Sequence[Pair], *, batch_size: int = 64,
                      rerank_top: int = 64, max_text_tokens: int = 128,
                      progress: ProgressFn | None = None) -> dict[str, MetricReport]:
    """`{in_batch|full}[_rerank]:{m2t|t2m}` → report; every pair of the split is a query in both directions.

    Re-ranking re-scores each query's `rerank_top` most similar candidates over the whole split, and every
    candidate of its batch in the in-batch protocol (3D-MoLM's batch of 64 = its top 64)."""
    encoded = encode_pairs(model, tokenizer, kind, pairs, max_text_tokens=max_text_tokens, progress=progress)
    scores = similarities(encoded)
    n = scores.shape[0]
    reports: dict[str, MetricReport] = {}
    for pool, size in (("in_batch", batch_size), ("full", None)):
        for direction, queries, by_molecule in (("m2t", scores, True), ("t2m", scores.T, False)):
            task = f"retrieval_{direction}"
            reports[f"{pool}:{direction}"] = retrieval_report(queries, batch_size=size, task=task)
            if not rerank_top:
                continue
            candidates = partial(_top, queries, rerank_top) if size is None else partial(_batch_of, size, n)
            again = rescored(model, encoded, queries, candidates, molecule_queries=by_molecule, progress=progress)
            reports[f"{pool}_rerank:{direction}"] = retrieval_report(again, batch_size=size, task=task)
    return reports


def _top(queries: np.ndarray, k: int, row: int) -> np.ndarray:
    return np.argsort(-queries[row], kind="stable")[:k]


def _batch_of(size: int, n: int, row: int) -> np.ndarray:
    start = row - row % size
    return np.arange(start, min(start + size, n))

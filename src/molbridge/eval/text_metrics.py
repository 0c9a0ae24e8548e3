"""Molecule → text scoring: BLEU-2/4, ROUGE-1/2/L and METEOR under a declared convention.

Per-item statistics are computed in parallel (BLEU sufficient statistics, METEOR, ROUGE), then
aggregated once for the values and resampled for the bootstrap intervals. A missing prediction
(ragged line, null field) is scored as the empty text: it counts in N and scores zero.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from molbridge.eval import bleu, meteor
from molbridge.eval.bootstrap import bootstrap_interval, mean_interval
from molbridge.eval.conventions import Convention
from molbridge.eval.parallel import chunked_map
from molbridge.eval.results import MetricReport, MetricValue
from molbridge.eval.rouge import RougeComputer
from molbridge.eval.text_tokenize import make_tokenizer
from molbridge.eval.versions import package_versions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _TextPayload:
    ref_tokens: list[list[str]]
    hyp_tokens: list[list[str]]
    ref_texts: list[str]
    hyp_texts: list[str]
    rouge_stemmer: bool


def _item_stats(p: _TextPayload, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bleu_rows = np.array(
        [bleu.bleu_stats([p.ref_tokens[i]], p.hyp_tokens[i]) for i in range(start, stop)],
        dtype=np.int64,
    ).reshape(-1, bleu.N_STATS)
    meteors = meteor.meteor_values(p.ref_tokens[start:stop], p.hyp_tokens[start:stop])
    # MolT5 calls scorer.score(output, ground_truth); F-measures are symmetric in the two.
    rouges = RougeComputer(p.rouge_stemmer).score_many(p.ref_texts[start:stop], p.hyp_texts[start:stop])
    return bleu_rows, meteors, rouges


def _prepare_outputs(predictions: Sequence[str | None], conv: Convention) -> tuple[list[str], int, int]:
    texts, missing, empty = [], 0, 0
    for pred in predictions:
        if pred is None:
            missing += 1
            pred = ""
        if conv.strip_cls_prefix and pred.startswith("[CLS] "):
            pred = pred[6:]
        if not pred.strip():
            empty += 1
        texts.append(pred)
    return texts, missing, empty


def score_mol2text(
    references: Sequence[str],
    predictions: Sequence[str | None],
    convention: Convention,
    *,
    workers: int | None = None,
) -> MetricReport:
    """Score generated captions against reference captions (aligned lists)."""
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
    if not references:
        raise ValueError("nothing to score: no prediction pairs")
    hyp_texts, missing, empty = _prepare_outputs(predictions, convention)
    ref_texts = list(references)
    tokenize = make_tokenizer(convention.text_tokenizer, convention.text_truncation)
    tokens = tokenize(ref_texts + hyp_texts)
    n = len(ref_texts)
    meteor.warm_up()
    payload = _TextPayload(tokens[:n], tokens[n:], ref_texts, hyp_texts, convention.rouge_stemmer)
    parts = chunked_map(_item_stats, payload, n, workers=workers)
    bleu_rows = np.concatenate([p[0] for p in parts])
    meteors = np.concatenate([p[1] for p in parts])
    rouges = np.concatenate([p[2] for p in parts])

    scale = float(convention.scale)
    boot = dict(n_resamples=convention.bootstrap_resamples, seed=convention.seed)
    metrics: dict[str, MetricValue] = {}
    for name, order in (("bleu2", 2), ("bleu4", 4)):
        if convention.bleu_mode == "corpus":
            value = bleu.corpus_bleu(bleu_rows, order)
            ci = _ci(lambda: bootstrap_interval(bleu_rows, lambda s, o=order: bleu.bleu_vectorised(s, o), **boot), boot)
        else:
            per_item = bleu.sentence_bleu_values(bleu_rows, order)
            value = float(per_item.mean())
            ci = _ci(lambda v=per_item: mean_interval(v, **boot), boot)
        metrics[name] = _scaled(value, n, ci, scale)
    for j, name in enumerate(("rouge1", "rouge2", "rougeL")):
        col = rouges[:, j]
        metrics[name] = _scaled(float(col.mean()), n, _ci(lambda c=col: mean_interval(c, **boot), boot), scale)
    metrics["meteor"] = _scaled(float(meteors.mean()), n, _ci(lambda: mean_interval(meteors, **boot), boot), scale)

    notes = []
    if missing:
        notes.append(f"{missing} missing outputs scored as empty text (zero), not dropped")
    return MetricReport(
        task="mol2text",
        convention={**convention.model_dump(), "versions": package_versions("nltk", "rouge-score", "tokenizers", "transformers")},
        n=n,
        metrics=metrics,
        counts={"missing_outputs": missing, "empty_outputs": empty},
        notes=notes,
    )


def _ci(compute, boot: dict) -> tuple[float, float] | None:
    return compute() if boot["n_resamples"] > 0 else None


def _scaled(value: float, n: int, ci: tuple[float, float] | None, scale: float) -> MetricValue:
    low, high = ci if ci else (None, None)
    return MetricValue(
        value=value * scale,
        n=n,
        ci_low=None if low is None else low * scale,
        ci_high=None if high is None else high * scale,
    )

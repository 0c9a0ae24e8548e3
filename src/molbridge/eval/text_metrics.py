"""Molecule → text scoring: BLEU-2/4, ROUGE-1/2/L and METEOR under a declared convention (and BERTScore
when the convention names a model).

Per-item statistics (BLEU sufficient statistics, ROUGE F-measures, METEOR) are computed in
worker processes forked after WordNet is loaded (they share it), then aggregated once for the
values and resampled for the intervals. A missing prediction (ragged line, null field) is scored
as the empty text: it counts in N and scores zero.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from molbridge.eval import bleu, meteor
from molbridge.eval.bootstrap import bootstrap_interval, mean_metric
from molbridge.eval.conventions import Convention
from molbridge.eval.parallel import process_pool, split
from molbridge.eval.predictions import check_aligned
from molbridge.eval.results import MetricReport, MetricValue
from molbridge.eval.rouge import RougeComputer
from molbridge.eval.text_tokenize import make_tokenizer
from molbridge.eval.versions import package_versions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _TextChunk:
    ref_tokens: list[list[str]]
    hyp_tokens: list[list[str]]
    ref_texts: list[str]
    hyp_texts: list[str]
    rouge_stemmer: bool


def _chunk_stats(c: _TextChunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-item BLEU statistics, METEOR and ROUGE F-measures of one chunk (runs in a worker)."""
    bleu_rows = np.array([bleu.bleu_stats([r], h) for r, h in zip(c.ref_tokens, c.hyp_tokens)],
                         dtype=np.int64).reshape(-1, bleu.N_STATS)
    meteors = meteor.meteor_values(c.ref_tokens, c.hyp_tokens)
    # MolT5 calls scorer.score(output, ground_truth); F-measures are symmetric in the two.
    rouges = RougeComputer(c.rouge_stemmer).score_many(c.ref_texts, c.hyp_texts)
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
    check_aligned(references, predictions)
    hyp_texts, missing, empty = _prepare_outputs(predictions, convention)
    ref_texts = list(references)
    tokenize = make_tokenizer(convention.text_tokenizer, convention.text_truncation)
    n = len(ref_texts)
    tokens = tokenize(ref_texts + hyp_texts)
    meteor.warm_up()  # before forking, so workers share the loaded WordNet
    chunks = [_TextChunk(tokens[:n][s], tokens[n:][s], ref_texts[s], hyp_texts[s], convention.rouge_stemmer)
              for s in split(n, workers)]
    with process_pool(workers) as pool:
        parts = pool.map(_chunk_stats, chunks)
    bleu_rows = np.concatenate([p[0] for p in parts])
    meteors = np.concatenate([p[1] for p in parts])
    rouges = np.concatenate([p[2] for p in parts])

    boot = {"n_resamples": convention.bootstrap_resamples, "seed": convention.seed}
    metrics: dict[str, MetricValue] = {}
    for name, order in (("bleu2", 2), ("bleu4", 4)):
        if convention.bleu_mode == "sentence_mean":
            metrics[name] = mean_metric(bleu.sentence_bleu_values(bleu_rows, order), **boot)
            continue

        def corpus(sums: np.ndarray, order: int = order) -> np.ndarray:
            return bleu.bleu_vectorised(sums, order)

        low, high = bootstrap_interval(bleu_rows, corpus, **boot)
        metrics[name] = MetricValue(bleu.corpus_bleu(bleu_rows, order), n, low, high)
    for j, name in enumerate(("rouge1", "rouge2", "rougeL")):
        metrics[name] = mean_metric(rouges[:, j], **boot)
    metrics["meteor"] = mean_metric(meteors, **boot)
    if convention.bertscore_model:
        from molbridge.eval.bertscore import bertscore_values

        bert = bertscore_values(ref_texts, hyp_texts, convention.bertscore_model,
                                truncation=convention.bertscore_truncation)
        for j, name in enumerate(("bertscore_p", "bertscore_r", "bertscore_f1")):
            metrics[name] = mean_metric(bert[:, j], **boot)
    metrics = {name: m.scaled(float(convention.scale)) for name, m in metrics.items()}

    notes = []
    if missing:
        notes.append(f"{missing} missing outputs scored as empty text (zero), not dropped")
    return MetricReport(
        task="mol2text",
        convention={**convention.model_dump(),
                    "versions": package_versions("nltk", "rouge-score", "tokenizers", "transformers")},
        n=n,
        metrics=metrics,
        counts={"missing_outputs": missing, "empty_outputs": empty},
        notes=notes,
    )

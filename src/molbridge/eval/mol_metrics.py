"""Text → molecule scoring: character BLEU, exact match, Levenshtein, validity, fingerprint
similarities (MACCS, RDK, Morgan counts) and optionally FCD, under a declared convention.

Each pair is parsed once and every per-pair quantity is computed in a forked worker (the
reference scripts parse every molecule twice, in two scripts, one pair at a time). Exact match
is InChI equality as in MolT5; a pair whose output does not parse is invalid: it scores 0 in
the all-N values and is excluded from the valid-only fingerprint averages — both are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from Levenshtein import distance as levenshtein
from rdkit import Chem

from molbridge.chem import fingerprints as fp
from molbridge.chem.parse import failure_kind
from molbridge.chem.rdkit_log import divert_rdkit_messages
from molbridge.eval import bleu
from molbridge.eval.bootstrap import bootstrap_interval, mean_metric
from molbridge.eval.conventions import Convention
from molbridge.eval.parallel import process_pool, split
from molbridge.eval.predictions import check_aligned
from molbridge.eval.results import MetricReport, MetricValue
from molbridge.eval.versions import package_versions

_FLOAT_COLS = ("maccs", "rdk", "morgan")


@dataclass(frozen=True)
class _MolPayload:
    references: list[str]
    outputs: list[str | None]  # None: missing → always invalid, scored as "" for string metrics
    empty_valid: bool
    morgan_radius: int
    want_canonical: bool


@dataclass
class _PairStats:
    bleu_rows: np.ndarray  # (n, bleu.N_STATS) int
    lev: np.ndarray  # (n,) int
    flags: np.ndarray  # (n, 4) bool: output valid, reference valid, exact, output empty
    sims: np.ndarray  # (n, 3) float, NaN where not computed
    canonical: list[tuple[str | None, str | None]]
    invalid_kinds: dict[str, int]


def _parse(smiles: str, empty_valid: bool) -> Chem.Mol | None:
    """RDKit's plain parse, as the reference scripts do; any exception means invalid.

    (With RDKit's log routed to Python, some non-ASCII garbage makes RDKit raise SystemError
    instead of returning None; the reference scripts also count exceptions as bad molecules.)
    """
    if not smiles.strip() and not empty_valid:
        return None
    try:
        return Chem.MolFromSmiles(smiles)
    except Exception:
        return None


def _inchi(mol: Chem.Mol | None) -> str | None:
    return Chem.MolToInchi(mol) if mol is not None else None


class _ChunkScorer:
    """Accumulates per-pair statistics for one chunk of pairs (runs inside a worker)."""

    def __init__(self, p: _MolPayload, n: int) -> None:
        self.p = p
        self.stats = _PairStats(
            bleu_rows=np.zeros((n, bleu.N_STATS), dtype=np.int64),
            lev=np.zeros(n, dtype=np.int64),
            flags=np.zeros((n, 4), dtype=bool),
            sims=np.full((n, 3), np.nan),
            canonical=[],
            invalid_kinds={},
        )

    def score(self, k: int, ref: str, output: str | None) -> None:
        p, st = self.p, self.stats
        out = output or ""
        st.bleu_rows[k] = bleu.bleu_stats([list(ref)], list(out))
        st.lev[k] = levenshtein(out, ref)
        m_out = _parse(out, p.empty_valid) if output is not None else None
        if m_out is None:
            kind = "missing" if output is None else failure_kind(out)
            st.invalid_kinds[kind] = st.invalid_kinds.get(kind, 0) + 1
        m_ref = _parse(ref, False)
        st.flags[k] = (m_out is not None, m_ref is not None, False, output is not None and not out.strip())
        if m_ref is not None and m_out is not None:
            st.flags[k, 2] = _inchi(m_out) == _inchi(m_ref)
            st.sims[k] = (
                fp.tanimoto(fp.maccs(m_ref), fp.maccs(m_out)),
                fp.tanimoto(fp.rdk(m_ref), fp.rdk(m_out)),
                fp.tanimoto(fp.morgan_counts(m_ref, p.morgan_radius), fp.morgan_counts(m_out, p.morgan_radius)),
            )
        if p.want_canonical:
            st.canonical.append((
                Chem.MolToSmiles(m_ref) if m_ref is not None else None,
                Chem.MolToSmiles(m_out) if m_out is not None and m_out.GetNumAtoms() else None,
            ))


def _pair_stats(p: _MolPayload) -> _PairStats:
    """Per-pair statistics of one chunk (runs in a worker)."""
    scorer = _ChunkScorer(p, len(p.references))
    with divert_rdkit_messages():  # thousands of expected parse errors: counted, not printed
        for k, (ref, out) in enumerate(zip(p.references, p.outputs)):
            scorer.score(k, ref, out)
    return scorer.stats


def _merge(parts: list[_PairStats]) -> _PairStats:
    return _PairStats(
        np.concatenate([p.bleu_rows for p in parts]),
        np.concatenate([p.lev for p in parts]),
        np.concatenate([p.flags for p in parts]),
        np.concatenate([p.sims for p in parts]),
        [c for p in parts for c in p.canonical],
        {k: sum(p.invalid_kinds.get(k, 0) for p in parts) for k in sorted({k for p in parts for k in p.invalid_kinds})},
    )


def score_text2mol(
    references: Sequence[str],
    predictions: Sequence[str | None],
    convention: Convention,
    *,
    fcd: bool = False,
    workers: int | None = None,
) -> MetricReport:
    """Score generated SMILES against reference SMILES (aligned lists)."""
    check_aligned(references, predictions)
    missing = sum(p is None for p in predictions)
    refs, preds = list(references), list(predictions)
    chunks = [_MolPayload(refs[s], preds[s], convention.empty_smiles_valid, convention.morgan_radius, fcd)
              for s in split(len(preds), workers)]
    with process_pool(workers) as pool:
        stats = _merge(pool.map(_pair_stats, chunks))

    n = len(predictions)
    valid, ref_valid, exact, empty = (stats.flags[:, j] for j in range(4))
    both = valid & ref_valid
    boot = {"n_resamples": convention.bootstrap_resamples, "seed": convention.seed}
    exact_f = exact.astype(np.float64)
    metrics: dict[str, MetricValue] = {
        "bleu": MetricValue(bleu.corpus_bleu(stats.bleu_rows, 4), n,
                            *bootstrap_interval(stats.bleu_rows, lambda s: bleu.bleu_vectorised(s, 4), **boot)),
        "exact_match": replace(mean_metric(exact_f, **boot), n_valid=int(both.sum()),
                               valid_only=float(exact_f[both].mean()) if both.any() else None),
        "levenshtein": mean_metric(stats.lev.astype(np.float64), **boot),
        "validity": mean_metric(valid.astype(np.float64), **boot),
    }
    for j, name in enumerate(_FLOAT_COLS):
        col = stats.sims[:, j]
        valid_vals = col[both]
        all_vals = np.where(both, np.nan_to_num(col), 0.0)  # invalid outputs score 0
        headline = valid_vals if convention.headline_fingerprints == "valid_only" else all_vals
        metrics[f"{name}_fts"] = replace(
            mean_metric(headline, **boot), n_valid=len(valid_vals), all_n=float(all_vals.mean()),
            valid_only=float(valid_vals.mean()) if len(valid_vals) else float("nan"),
        )
    notes: list[str] = []
    if fcd:
        metrics["fcd"], fcd_note = _fcd_metric(stats.canonical)
        notes.append(fcd_note)
    if missing:
        notes.append(f"{missing} missing outputs scored as invalid, not dropped")
    if convention.empty_smiles_valid and empty.any():
        notes.append(f"{int(empty.sum())} empty outputs count as valid molecules under this convention "
                     "(MolT5's scripts do so); use --convention molt5-strict to count them invalid")
    return MetricReport(
        task="text2mol",
        convention={**convention.model_dump(),
                    "versions": package_versions("rdkit", "nltk", "levenshtein", *(("fcd",) if fcd else ()))},
        n=n,
        metrics=metrics,
        counts={
            "valid_outputs": int(valid.sum()),
            "invalid_outputs": int((~valid).sum()),
            "invalid_references": int((~ref_valid).sum()),
            "missing_outputs": missing,
            "empty_outputs": int(empty.sum()),
            **{f"invalid_{kind}": count for kind, count in stats.invalid_kinds.items()},
        },
        notes=notes,
    )


def _fcd_metric(canonical: list[tuple[str | None, str | None]]) -> tuple[MetricValue, str]:
    """FCD between the canonical valid references and outputs (MolT5's fcd_metric protocol)."""
    from molbridge.eval.fcd import fcd_score, fcd_version

    refs = [r for r, _ in canonical if r is not None]
    outs = [o for _, o in canonical if o is not None]
    value = fcd_score(refs, outs)
    note = (f"FCD with the fcd package {fcd_version()} ChemNet on {len(refs)} canonical valid references "
            f"and {len(outs)} canonical valid outputs (no interval: FCD is a set statistic)")
    return MetricValue(value, len(outs)), note

"""Text → molecule scoring: character BLEU, exact match, Levenshtein, validity, fingerprint
similarities (MACCS, RDK, Morgan counts) and optionally FCD, under a declared convention.

Each distinct string is parsed once, and fingerprinted once when it meets a valid partner
(`eval.mol_features`; the reference scripts parse every molecule twice, in two scripts, one pair at
a time); strings are processed in forked workers, similarities for all pairs at once from the
fingerprint arrays (`eval.tanimoto`). The references' features are kept on disk between runs
(`eval.feature_cache`), so scoring many outputs against one test set pays for its references once.
Exact match is InChI equality as in MolT5; a pair whose output does not parse is invalid: it scores
0 in the all-N values and is excluded from the valid-only fingerprint averages — both are reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
from Levenshtein import distance as levenshtein
from rdkit import Chem

from molbridge.chem.rdkit_log import divert_rdkit_messages
from molbridge.eval import bleu
from molbridge.eval.bootstrap import bootstrap_interval, mean_metric
from molbridge.eval.conventions import Convention
from molbridge.eval.feature_cache import ReferenceCache, default_directory
from molbridge.eval.mol_features import Fingerprints, Molecule, combined, describe, fingerprints, parse
from molbridge.eval.parallel import process_pool, split
from molbridge.eval.predictions import check_aligned
from molbridge.eval.results import MetricReport, MetricValue
from molbridge.eval.tanimoto import bit_tanimoto, count_tanimoto
from molbridge.eval.versions import package_versions

_FLOAT_COLS = ("maccs", "rdk", "morgan")


class _Known(NamedTuple):
    valid: bool
    fingerprinted: bool
    canonical: bool

    @classmethod
    def of(cls, molecule: Molecule) -> _Known:
        return cls(molecule.valid, molecule.fingerprints is not None, molecule.canonical is not None)


@dataclass(frozen=True)
class _MolPayload:
    references: list[str]
    outputs: list[str | None]  # None: missing → always invalid, scored as "" for string metrics
    known: dict[str, _Known]  # what the parent already has of these strings' molecules
    empty_valid: bool
    morgan_radius: int
    want_canonical: bool


@dataclass
class _ChunkStats:
    bleu_rows: np.ndarray  # (n, bleu.N_STATS) int
    lev: np.ndarray  # (n,) int
    molecules: dict[str, Molecule]  # the strings this chunk parsed or fingerprinted


def _parsed(smiles: str | None, empty_valid: bool) -> bool:
    """Whether `smiles` is parsed at all: a missing output, and a blank one unless the convention allows it, are
    invalid as they stand (so a blank reference, never valid, cannot share a blank output's molecule)."""
    return smiles is not None and (empty_valid or bool(smiles.strip()))


class _ChunkScorer:
    """String metrics of one chunk of pairs, and the molecules it needs that the parent lacks (runs in a worker)."""

    def __init__(self, p: _MolPayload) -> None:
        self.p = p
        n = len(p.references)
        self.stats = _ChunkStats(np.zeros((n, bleu.N_STATS), dtype=np.int64), np.zeros(n, dtype=np.int64), {})
        self.mols: dict[str, Chem.Mol | None] = {}  # this chunk's RDKit molecules, kept until fingerprinted

    def score(self, k: int, ref: str, output: str | None) -> None:
        out = output or ""
        self.stats.bleu_rows[k] = bleu.bleu_stats([list(ref)], list(out))
        self.stats.lev[k] = levenshtein(out, ref)
        ref_valid = _parsed(ref, False) and self._valid(ref)
        if _parsed(output, self.p.empty_valid) and self._valid(out) and ref_valid:
            self._fingerprint(ref)
            self._fingerprint(out)

    def _valid(self, smiles: str) -> bool:
        known = self.p.known.get(smiles)
        if known is not None and (known.canonical or not known.valid or not self.p.want_canonical):
            return known.valid
        if smiles not in self.stats.molecules:
            mol = self.mols[smiles] = parse(smiles)
            self.stats.molecules[smiles] = describe(smiles, mol, self.p.want_canonical)
        return self.stats.molecules[smiles].valid

    def _fingerprint(self, smiles: str) -> None:
        done = self.stats.molecules.get(smiles)
        known = self.p.known.get(smiles)
        if (known is not None and known.fingerprinted) or (done is not None and done.fingerprints is not None):
            return
        mol = self.mols.pop(smiles) if smiles in self.mols else parse(smiles)
        assert mol is not None  # only valid molecules are fingerprinted
        self.stats.molecules[smiles] = replace(done or describe(smiles, mol, self.p.want_canonical),
                                               fingerprints=fingerprints(mol, self.p.morgan_radius))


def _chunk_stats(p: _MolPayload) -> _ChunkStats:
    """String metrics and new molecules of one chunk (runs in a worker)."""
    scorer = _ChunkScorer(p)
    with divert_rdkit_messages():  # thousands of expected parse errors: counted, not printed
        for k, (ref, out) in enumerate(zip(p.references, p.outputs)):
            scorer.score(k, ref, out)
    return scorer.stats


def _merged(parts: list[_ChunkStats]) -> dict[str, Molecule]:
    """Each string's molecule from the chunks; a string one chunk only parsed may be fingerprinted by another."""
    found: dict[str, Molecule] = {}
    for part in parts:
        for smiles, molecule in part.molecules.items():
            found[smiles] = combined(found.get(smiles), molecule)
    return found


@dataclass
class _PairStats:
    bleu_rows: np.ndarray  # (n, bleu.N_STATS) int
    lev: np.ndarray  # (n,) int
    flags: np.ndarray  # (n, 4) bool: output valid, reference valid, exact, output empty
    sims: np.ndarray  # (n, 3) float, NaN where not computed
    canonical: list[tuple[str | None, str | None]]
    invalid_kinds: dict[str, int]


def _pair_stats(refs: list[str], preds: list[str | None], molecules: dict[str, Molecule], empty_valid: bool,
                bleu_rows: np.ndarray, lev: np.ndarray) -> _PairStats:
    """Per-pair validity, exact match and similarities, from each string's molecule."""
    n = len(refs)
    ref_mols = [molecules[r] if _parsed(r, False) else None for r in refs]
    out_mols = [molecules[o] if o is not None and _parsed(o, empty_valid) else None for o in preds]
    flags = np.zeros((n, 4), dtype=bool)
    flags[:, 0] = [m is not None and m.valid for m in out_mols]
    flags[:, 1] = [m is not None and m.valid for m in ref_mols]
    flags[:, 3] = [o is not None and not o.strip() for o in preds]
    both = np.flatnonzero(flags[:, 0] & flags[:, 1])
    pairs: list[tuple[Fingerprints, Fingerprints]] = [(_prints(ref_mols[k]), _prints(out_mols[k])) for k in both]
    flags[both, 2] = [r.inchi == o.inchi for r, o in pairs]
    sims = np.full((n, 3), np.nan)
    if len(pairs):
        refs_fp, outs_fp = zip(*pairs)
        sims[both, 0] = bit_tanimoto(np.stack([f.maccs for f in refs_fp]), np.stack([f.maccs for f in outs_fp]))
        sims[both, 1] = bit_tanimoto(np.stack([f.rdk for f in refs_fp]), np.stack([f.rdk for f in outs_fp]))
        sims[both, 2] = count_tanimoto([f.morgan_keys for f in refs_fp], [f.morgan_counts for f in refs_fp],
                                       [f.morgan_keys for f in outs_fp], [f.morgan_counts for f in outs_fp])
    kinds = Counter("missing" if o is None else "empty" if m is None else str(m.failure)
                    for o, m in zip(preds, out_mols) if m is None or not m.valid)
    canonical = [(r.canonical if r is not None and r.valid else None,
                  (o.canonical or None) if o is not None and o.valid else None)  # FCD drops the empty molecule
                 for r, o in zip(ref_mols, out_mols)]
    return _PairStats(bleu_rows, lev, flags, sims, canonical, {kind: kinds[kind] for kind in sorted(kinds)})


def _prints(molecule: Molecule | None) -> Fingerprints:
    assert molecule is not None and molecule.fingerprints is not None  # a valid pair's molecules are fingerprinted
    return molecule.fingerprints


def score_text2mol(
    references: Sequence[str],
    predictions: Sequence[str | None],
    convention: Convention,
    *,
    fcd: bool = False,
    workers: int | None = None,
    feature_cache: Path | bool = True,
) -> MetricReport:
    """Score generated SMILES against reference SMILES (aligned lists).

    `feature_cache`: the references' features are read from and written to `eval.feature_cache`'s default
    directory (True), the directory given, or nowhere (False); the values are the same either way.
    """
    check_aligned(references, predictions)
    missing = sum(p is None for p in predictions)
    refs, preds = list(references), list(predictions)
    directory = default_directory() if feature_cache is True else feature_cache or None
    cache = ReferenceCache.of(directory, (r for r in refs if _parsed(r, False)), convention.morgan_radius) \
        if directory else None
    stored = cache.load() if cache else {}
    known = {s: _Known.of(m) for s, m in stored.items()}
    chunks = [_MolPayload(refs[s], preds[s], known, convention.empty_smiles_valid, convention.morgan_radius, fcd)
              for s in split(len(preds), workers)]
    with process_pool(workers) as pool:
        parts = pool.map(_chunk_stats, chunks)
    found = _merged(parts)
    molecules = {**stored, **{s: combined(stored.get(s), m) for s, m in found.items()}}
    if cache and not cache.smiles.isdisjoint(found):
        cache.save(molecules)
    stats = _pair_stats(refs, preds, molecules, convention.empty_smiles_valid,
                        np.concatenate([p.bleu_rows for p in parts]), np.concatenate([p.lev for p in parts]))

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

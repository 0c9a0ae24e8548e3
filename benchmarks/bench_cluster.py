"""K-mer fallback clustering vs MMseqs2 on real UniProt sequences: agreement, cluster counts, time; BENCHMARKS.md.

    python benchmarks/bench_cluster.py [--runs 5000:3 20000:1] [--seed 0] [--pairs 50]

Sequences: seeded uniform samples (reservoir sampling, one per run) of the proteins
`read_uniprot_go` keeps from Debian's metastudent-data (UniProt 2014, molecular-function
annotated). Each sample is clustered by `cluster_sequences(method="mmseqs2")` (Debian's
`mmseqs easy-cluster`, 2 threads) and `method="kmer"` (pure Python, 1 process) at the defaults,
min_seq_id 0.5 and coverage 0.8. MMseqs2 is the truth: pair-counting precision is the share of
protein pairs the k-mer method puts together that MMseqs2 also puts together, recall the share
of MMseqs2's pairs the k-mer method keeps together (both from contingency counts, not from the
n² pairs); ARI is sklearn's adjusted Rand index. `size:repeats` runs independent samples, whose
spread is the interval. To say where the methods disagree, for the first sample of the largest
size `--pairs` pairs of each kind are aligned (Smith-Waterman, BLOSUM62, gaps 11/1, as MMseqs2
scores): a k-mer representative with a member MMseqs2 put elsewhere (a merge), an MMseqs2
representative with a member the k-mer method put elsewhere (a split); identity is identical
columns over alignment columns, coverage the aligned share of each sequence, as MMseqs2 counts them.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sklearn
from Bio import Align
from Bio.Align import substitution_matrices
from sklearn.metrics import adjusted_rand_score

from molbridge.data.fetch import uniprot_go_paths
from molbridge.data.sources.uniprot_go import read_uniprot_go
from molbridge.protein.cluster import cluster_sequences
from report import write_section  # benchmarks/ is the script's directory, hence on sys.path

REPO = Path(__file__).resolve().parents[1]
COMMAND = "python benchmarks/bench_cluster.py"
MIN_SEQ_ID, COVERAGE, THREADS = 0.5, 0.8, 2


@dataclass
class Run:
    size: int
    repeat: int
    clusters: dict[str, int]  # method → number of clusters
    seconds: dict[str, float]  # method → wall time
    precision: float
    recall: float
    ari: float
    merged: int  # k-mer clusters holding members of more than one MMseqs2 cluster
    split: int  # MMseqs2 clusters spread over more than one k-mer cluster

    @property
    def f1(self) -> float:
        return 2 * self.precision * self.recall / (self.precision + self.recall)


def samples(runs: list[tuple[int, int]], seed: int) -> tuple[dict[tuple[int, int], dict[str, str]], int]:
    """One seeded uniform sample per (size, repeat), all from a single pass; and how many proteins there were."""
    keys = [(size, r) for size, repeats in runs for r in range(repeats)]
    rngs = {key: random.Random(f"{seed}:{key[0]}:{key[1]}") for key in keys}
    reservoirs: dict[tuple[int, int], list[tuple[str, str]]] = {key: [] for key in keys}
    for seen, protein in enumerate(read_uniprot_go(*uniprot_go_paths())):
        for (size, r), reservoir in reservoirs.items():
            if len(reservoir) < size:
                reservoir.append((protein.accession, protein.sequence))
            else:
                slot = rngs[size, r].randrange(seen + 1)
                if slot < size:
                    reservoir[slot] = (protein.accession, protein.sequence)
    return {key: dict(reservoir) for key, reservoir in reservoirs.items()}, seen + 1


def pairs_together(labels: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in labels.values())


def agreement(truth: dict[str, str], found: dict[str, str]) -> tuple[float, float, float, int, int]:
    """Pair precision and recall of `found` against `truth`, ARI, merged and split cluster counts."""
    ids = list(truth)
    cells = Counter((found[i], truth[i]) for i in ids)
    both = pairs_together(cells)
    precision = both / max(1, pairs_together(Counter(found.values())))
    recall = both / max(1, pairs_together(Counter(truth.values())))
    ari = adjusted_rand_score([truth[i] for i in ids], [found[i] for i in ids])
    merged = sum(n > 1 for n in Counter(f for f, _ in cells).values())
    split = sum(n > 1 for n in Counter(t for _, t in cells).values())
    return precision, recall, ari, merged, split


def discordant(rep_of: dict[str, str], other: dict[str, str], count: int, rng: random.Random) -> list[tuple[str, str]]:
    """Up to `count` (representative, member) pairs of `rep_of` that `other` separates, one per cluster."""
    pairs: dict[str, tuple[str, str]] = {}
    for member, rep in rep_of.items():
        if member != rep and other[member] != other[rep]:
            pairs.setdefault(rep, (rep, member))
    chosen = sorted(pairs.values())
    return rng.sample(chosen, min(count, len(chosen)))


def aligner() -> Align.PairwiseAligner:
    return Align.PairwiseAligner(mode="local", substitution_matrix=substitution_matrices.load("BLOSUM62"),
                                 open_gap_score=-11, extend_gap_score=-1)


def identity_and_coverage(align: Align.PairwiseAligner, a: str, b: str) -> tuple[float, float]:
    """Identity over alignment columns and the smaller aligned share of the two sequences."""
    best = align.align(a, b)[0]
    counts = best.counts()
    columns = counts.aligned + counts.internal_gaps
    (a_start, a_end), (b_start, b_end) = best.coordinates[0][[0, -1]], best.coordinates[1][[0, -1]]
    return counts.identities / max(1, columns), min((a_end - a_start) / len(a), (b_end - b_start) / len(b))


def checked(pairs: list[tuple[str, str]], sequences: dict[str, str]) -> list[tuple[float, float]]:
    align = aligner()
    return [identity_and_coverage(align, sequences[a], sequences[b]) for a, b in pairs]


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def cluster_run(size: int, repeat: int, sequences: dict[str, str]) -> tuple[Run, dict[str, str], dict[str, str]]:
    (truth, _), mmseqs_s = timed(lambda: cluster_sequences(sequences, min_seq_id=MIN_SEQ_ID, coverage=COVERAGE,
                                                           method="mmseqs2", threads=THREADS))
    (found, _), kmer_s = timed(lambda: cluster_sequences(sequences, min_seq_id=MIN_SEQ_ID, coverage=COVERAGE,
                                                         method="kmer"))
    precision, recall, ari, merged, split = agreement(truth, found)
    run = Run(size, repeat, {"mmseqs2": len(set(truth.values())), "kmer": len(set(found.values()))},
              {"mmseqs2": mmseqs_s, "kmer": kmer_s}, precision, recall, ari, merged, split)
    print(f"{size} #{repeat}: P {precision:.3f} R {recall:.3f} ARI {ari:.3f}; mmseqs2 {mmseqs_s:.0f} s, "
          f"kmer {kmer_s:.0f} s", file=sys.stderr)
    return run, truth, found


def mmseqs_version() -> str:
    done = subprocess.run(["mmseqs", "version"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["5000:3", "20000:1"], help="size:repeats, independent samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=50, help="discordant pairs aligned, of each kind")
    parser.add_argument("--target", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    if shutil.which("mmseqs") is None:
        raise SystemExit("mmseqs not found: install Debian's mmseqs2")
    runs = [(int(size), int(repeats)) for size, repeats in (spec.split(":") for spec in args.runs)]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    (chosen, population), sampling_s = timed(lambda: samples(runs, args.seed))
    results, largest = [], max(size for size, _ in runs)
    for (size, repeat), sequences in chosen.items():
        run, truth, found = cluster_run(size, repeat, sequences)
        results.append(run)
        if size == largest and repeat == 0:
            rng = random.Random(args.seed)
            merges = checked(discordant(found, truth, args.pairs, rng), sequences)
            splits = checked(discordant(truth, found, args.pairs, rng), sequences)
    total_s = time.perf_counter() - started
    text = render(args, results, (merges, splits), load, (population, sampling_s, total_s), largest)
    write_section("bench_cluster", text, args.target)
    print(f"wrote {args.target} ({total_s:.0f} s)", file=sys.stderr)


def spread(values: list[float], digits: int = 3) -> str:
    """The value, or the mean and the min–max over repeated samples."""
    if len(values) == 1:
        return f"{values[0]:,.{digits}f}"
    return f"{statistics.mean(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def passing(checks: list[tuple[float, float]]) -> str:
    """How many aligned pairs clear both thresholds, and their median identity and coverage."""
    if not checks:
        return "none found"
    ok = sum(i >= MIN_SEQ_ID and c >= COVERAGE for i, c in checks)
    ids, covs = [i for i, _ in checks], [c for _, c in checks]
    low_id, low_cov = sum(i < MIN_SEQ_ID for i in ids), sum(c < COVERAGE for c in covs)
    return (f"{ok} of {len(checks)} pass both thresholds; median identity {statistics.median(ids):.0%}, median "
            f"coverage {statistics.median(covs):.0%}; {low_id} below {MIN_SEQ_ID:.0%} identity, {low_cov} below "
            f"{COVERAGE:.0%} coverage")


def render(args, results: list[Run], checks, load: float, times: tuple[int, float, float], largest: int) -> str:
    merges, splits = checks
    population, sampling_s, total_s = times
    by_size: dict[int, list[Run]] = defaultdict(list)
    for run in results:
        by_size[run.size].append(run)
    lines = [
        "## Protein clustering: k-mer fallback vs MMseqs2 (`benchmarks/bench_cluster.py`)", "",
        f"Run {date.today()} with `{COMMAND} --runs {' '.join(args.runs)} --seed {args.seed} --pairs {args.pairs}` "
        f"on {os.cpu_count()} cores (load average {load:.1f} at the start: the machine is shared, so the seconds are "
        f"inflated for both methods), Python {platform.python_version()}, MMseqs2 {mmseqs_version()}, scikit-learn "
        f"{sklearn.__version__}; {total_s:.0f} s in all, {sampling_s:.0f} s of it reading and sampling the "
        f"{population:,} proteins. min_seq_id {MIN_SEQ_ID}, coverage {COVERAGE} (both sequences, `--cov-mode 0`). "
        "Seeded uniform samples of the UniProt 2014 molecular-function proteins (metastudent-data); MMseqs2 "
        "`easy-cluster` is the truth. Pairs: precision = pairs the k-mer method puts together that MMseqs2 also does, "
        "recall = MMseqs2's pairs the k-mer method keeps together. Several samples: mean (min–max).", "",
        "| proteins | samples | clusters MMseqs2 | clusters k-mer | pair precision | pair recall | pair F1 | ARI "
        "| MMseqs2 s (2 threads) | k-mer s (1 process) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, runs in sorted(by_size.items()):
        lines.append(
            f"| {size:,} | {len(runs)} | {spread([r.clusters['mmseqs2'] for r in runs], 0)} "
            f"| {spread([r.clusters['kmer'] for r in runs], 0)} | {spread([r.precision for r in runs])} "
            f"| {spread([r.recall for r in runs])} | {spread([r.f1 for r in runs])} | {spread([r.ari for r in runs])} "
            f"| {spread([r.seconds['mmseqs2'] for r in runs], 0)} | {spread([r.seconds['kmer'] for r in runs], 0)} |")
    first = by_size[largest][0]
    lines += [
        "", f"Where they disagree ({largest:,} proteins, first sample): {first.merged:,} k-mer clusters join members "
        f"of more than one MMseqs2 cluster (merges) and {first.split:,} MMseqs2 clusters are spread over more than one "
        f"k-mer cluster (splits). Aligned (Smith-Waterman, BLOSUM62, gaps 11/1; identity over alignment columns, "
        "coverage the smaller aligned share of the two):",
        f"- merges, a k-mer representative and a member MMseqs2 put elsewhere: {passing(merges)};",
        f"- splits, an MMseqs2 representative and a member the k-mer method put elsewhere: {passing(splits)}.", "",
        reading(results, merges, splits), "",
    ]
    return "\n".join(lines) + "\n"


def reading(results: list[Run], merges, splits) -> str:
    """The numbers in words: which error dominates, and whether the disagreeing pairs are near the thresholds."""
    precision, recall = statistics.mean(r.precision for r in results), statistics.mean(r.recall for r in results)
    mostly = "merging (pairs MMseqs2 keeps apart)" if precision < recall else "splitting (pairs MMseqs2 keeps together)"
    fewer = sum(r.clusters["kmer"] < r.clusters["mmseqs2"] for r in results)
    merge_ids = sorted(i for i, _ in merges) or [float("nan")]
    split_ids = sorted(i for i, _ in splits) or [float("nan")]
    real = sum(i >= MIN_SEQ_ID and c >= COVERAGE for i, c in splits)
    ratio = statistics.mean(r.seconds["mmseqs2"] / max(r.seconds["kmer"], 1e-9) for r in results)
    split_range = f"{split_ids[0]:.0%}-{split_ids[-1]:.0%}"
    sentences = [
        f"Reading: the k-mer fallback errs mostly by {mostly}, mean pair precision {precision:.2f} against recall "
        f"{recall:.2f}; it found fewer clusters than MMseqs2 in {fewer} of {len(results)} samples.",
        f"The merge pairs aligned above have identities {merge_ids[0]:.0%}-{merge_ids[-1]:.0%} (median "
        f"{statistics.median(merge_ids):.0%}): its rule asks for min_seq_id^5 = {MIN_SEQ_ID ** 5:.1%} shared 5-mers "
        "(the share expected to survive at exactly that identity), which homologues somewhat below the threshold "
        "also reach, since their identities are not spread evenly along the sequence.",
        f"{'Its splits are real misses' if 2 * real >= len(splits) else 'Most of its splits are borderline'}: {real} "
        f"of {len(splits)} split pairs clear both thresholds by alignment (identities {split_range}).",
        "For a cluster split, merges only cost cluster count, but a real split is a leak: "
        f"{1 - recall:.0%} of MMseqs2's same-cluster pairs are separated, so homologues at {split_range} identity can "
        "land on both sides. Use MMseqs2 for splits that matter; the fallback is the approximation its docstring says.",
        "ARI is close to pair F1 because almost every protein pair is apart under both methods.",
        f"Time: MMseqs2 took {ratio:.1f}x the k-mer method's seconds on average (2 threads against 1 process, on a "
        "shared machine).",
    ]
    return " ".join(sentences)


if __name__ == "__main__":
    main()

"""Protein sequence clustering for redundancy removal and cluster splits: MMseqs2, with a pure-Python fallback.

`cluster_sequences` runs `mmseqs easy-cluster` (Debian package `mmseqs2`) when it is installed:
sequences at ≥ `min_seq_id` identity over ≥ `coverage` of both lengths share a cluster, named by
its representative. Without MMseqs2 it falls back to greedy incremental clustering (longest
sequence first, as CD-HIT does): a sequence joins the representative sharing the most 5-mers
when they are at least `min_seq_id ** 5` of its 5-mers (at identity p about p^5 of the k-mers
survive) and it covers `coverage` of the representative. A k-mer proxy, not an alignment:
exact for identical sequences, approximate near the threshold (BENCHMARKS.md compares it with
MMseqs2). Which method ran is returned with the clusters.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from molbridge.errors import MolbridgeError

K = 5


class ClusterError(MolbridgeError, RuntimeError):
    """Clustering could not run (bad thresholds, MMseqs2 failed)."""


def cluster_sequences(sequences: Mapping[str, str], *, min_seq_id: float = 0.5, coverage: float = 0.8,
                      threads: int = 1, method: str = "auto") -> tuple[dict[str, str], str]:
    """(member id → representative id, method used); method: auto | mmseqs2 | kmer."""
    if not 0 < min_seq_id <= 1 or not 0 < coverage <= 1:
        raise ClusterError(f"min_seq_id and coverage must be in (0, 1], got {min_seq_id}, {coverage}")
    if method not in ("auto", "mmseqs2", "kmer"):
        raise ClusterError(f"unknown clustering method {method!r}")
    if not sequences:
        return {}, method
    if method == "mmseqs2" or (method == "auto" and shutil.which("mmseqs")):
        return _mmseqs(sequences, min_seq_id, coverage, threads), "mmseqs2"
    return _kmer(sequences, min_seq_id, coverage), "kmer"


def _mmseqs(sequences: Mapping[str, str], min_seq_id: float, coverage: float, threads: int) -> dict[str, str]:
    if shutil.which("mmseqs") is None:
        raise ClusterError("mmseqs not found; install Debian's mmseqs2 or use method='kmer'")
    with tempfile.TemporaryDirectory(prefix="molbridge-mmseqs-") as work:
        fasta = Path(work) / "in.fasta"
        fasta.write_text("".join(f">{i}\n{s}\n" for i, s in enumerate(sequences.values())))
        ids = list(sequences)
        command = ["mmseqs", "easy-cluster", str(fasta), str(Path(work) / "out"), str(Path(work) / "tmp"),
                   "--min-seq-id", str(min_seq_id), "-c", str(coverage), "--cov-mode", "0", "--threads", str(threads),
                   "-v", "1"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise ClusterError(f"mmseqs easy-cluster failed: {done.stderr.strip()[-400:]}")
        clusters = {}
        for line in (Path(work) / "out_cluster.tsv").read_text().splitlines():
            representative, member = line.split("\t")
            clusters[ids[int(member)]] = ids[int(representative)]
    return clusters


def _kmers(sequence: str) -> set[str]:
    return {sequence[i:i + K] for i in range(max(1, len(sequence) - K + 1))}


def _kmer(sequences: Mapping[str, str], min_seq_id: float, coverage: float) -> dict[str, str]:
    """Greedy clustering, longest first, candidates found through an inverted k-mer index."""
    order = sorted(sequences, key=lambda i: (-len(sequences[i]), i))
    postings: dict[str, list[str]] = {}
    clusters: dict[str, str] = {}
    for member in order:
        kmers = _kmers(sequences[member])
        needed = max(1.0, min_seq_id ** K * len(kmers))  # at identity p about p**K of the k-mers survive
        shared = Counter(rep for kmer in kmers for rep in postings.get(kmer, ()))
        best = next((rep for rep, n in shared.most_common() if n >= needed
                     and len(sequences[member]) >= coverage * len(sequences[rep])), None)
        if best is None:
            clusters[member] = member
            for kmer in kmers:
                postings.setdefault(kmer, []).append(member)
        else:
            clusters[member] = best
    return clusters

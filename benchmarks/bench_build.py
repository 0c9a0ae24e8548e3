"""Data-builder throughput on MOSES: `molbridge data build` vs a plain per-molecule loop; conformers/s; BENCHMARKS.md.

    python benchmarks/bench_build.py [--molecules 100000] [--conformers 300]

Workload, identical on both sides: parse each MOSES SMILES, normalise it (canonical SMILES,
SELFIES, InChI and InChIKey), QC (allowed elements, size, charge, InChIKey deduplication),
RDKit descriptors (MW, LogP, TPSA, Bertz), four computed-property Q&A records per molecule, a
hashed 80/10/10 split, Parquet output. The baseline is that work as a plain loop over molbridge's own
per-molecule functions (the same normalisation, one parse per molecule, one process, one Parquet
file at the end); molbridge runs its real pipeline (`data.build.pipeline.build`, chunks of 2,000) with
1 and 2 worker processes, which also writes the dataset card. Both produce the same records
(asserted: same ids, read back after the timing). Each side runs once in a fresh output directory; the
timing includes reading the source and writing the output.

Conformers: ETKDGv3 + MMFF94 through `ConformerRunner` (2 worker processes, 30 s hard
deadline) on the first `--conformers` MOSES molecules, with the failure rate and causes.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import rdkit
import selfies
from rdkit import Chem

from molbridge.chem.conformers import ConformerRunner
from molbridge.chem.descriptors import descriptors
from molbridge.chem.parse import mol_to_selfies, to_inchi, to_mol
from molbridge.data.build.config import BuildConfig
from molbridge.data.build.pipeline import build
from molbridge.data.qc import ORGANIC
from molbridge.data.sources.moses import iter_moses
from molbridge.errors import InvalidMolecule
from report import write_section  # benchmarks/ is the script's directory, hence on sys.path

REPO = Path(__file__).resolve().parents[1]
COMMAND = "python benchmarks/bench_build.py"
CHUNK = 2000


def plain_loop(smiles: list[tuple[int, str]], out: Path) -> list[str]:
    """The same work with the same per-molecule functions, one molecule after another, one parse each."""
    seen, rows = set(), []
    allowed = set(ORGANIC)
    for number, text in smiles:
        try:
            mol = to_mol(text)
            canonical, selfies_text, inchi = Chem.MolToSmiles(mol), mol_to_selfies(mol), to_inchi(mol)
        except InvalidMolecule:
            continue
        key = Chem.InchiToInchiKey(inchi)
        heavy = mol.GetNumHeavyAtoms()
        if (any(a.GetSymbol() not in allowed for a in mol.GetAtoms()) or not 1 <= heavy <= 150
                or abs(Chem.GetFormalCharge(mol)) > 2 or key in seen):
            continue
        seen.add(key)
        profile = descriptors(mol)
        values = {"mol_weight": profile.mol_weight, "logp": profile.logp, "tpsa": profile.tpsa,
                  "bertz_complexity": profile.bertz_complexity}
        u = int.from_bytes(hashlib.sha256(f"0\x1fmol:{key[:14]}".encode()).digest()[:8], "big") / 2**64
        split = "train" if u < 0.8 else "validation" if u < 0.9 else "test"
        for name, value in values.items():
            rows.append({"id": f"moses:{number}:computed_property:{name}", "task": "computed_property",
                         "instruction": f"What is the {name} of this molecule?", "input": canonical,
                         "output": f"The {name} of the input molecule is {value:.2f}.", "smiles": canonical,
                         "selfies": selfies_text, "inchi": inchi, "split": split, "value": value})
    pq.write_table(pa.Table.from_pylist(rows), out / "plain.parquet")
    return [str(r["id"]) for r in rows]


def pipeline(n: int, workers: int, out: Path) -> None:
    config = BuildConfig(name="bench", chunk_size=CHUNK,
                         sources=[{"kind": "moses", "limit": n, "tasks": ["computed_property"]}])
    build(config, out, workers=workers)


def built_ids(out: Path) -> list[str]:
    """The ids a build wrote (read after the timing: checking the output is not the builder's work)."""
    shards = sorted((out / "data").glob("*.parquet"))
    return [i for shard in shards for i in pq.read_table(shard, columns=["id"])["id"].to_pylist()]


def timed(fn):
    """`fn()`, its wall seconds and its CPU seconds (this process and its finished worker processes).

    Why CPU too: on a shared machine the wall clock also counts other people's processes, while CPU
    seconds count only the work done (a 2-worker build's CPU seconds are the sum over its processes)."""
    start, cpu = time.perf_counter(), _cpu()
    value = fn()
    return value, time.perf_counter() - start, _cpu() - cpu


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=100_000)
    parser.add_argument("--conformers", type=int, default=300)
    parser.add_argument("--target", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    logging.getLogger("rdkit").setLevel(logging.CRITICAL)
    from rdkit import RDLogger
    RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]  # the plain loop's InChI warnings: RDKit's log

    smiles = list(itertools.islice(iter_moses(), args.molecules))
    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="molbridge-bench-build-"))
    rows = []
    try:
        plain_ids, plain_s, plain_cpu = timed(lambda: plain_loop(smiles, work))
        rows.append(("plain per-molecule loop, 1 process", plain_s, plain_cpu, len(plain_ids)))
        for workers in (1, 2):
            out = work / f"w{workers}"
            _, seconds, cpu = timed(lambda workers=workers, out=out: pipeline(args.molecules, workers, out))
            ids = built_ids(out)
            if sorted(ids) != sorted(plain_ids):
                raise SystemExit(f"records differ: pipeline {len(ids)} vs plain {len(plain_ids)}")
            rows.append((f"molbridge data build, {workers} worker{'s' if workers > 1 else ''}", seconds, cpu, len(ids)))
            print(f"{workers} workers: {seconds:.1f} s", file=sys.stderr)
        conformer_smiles = [s for _, s in smiles[:args.conformers]]
        started = time.perf_counter()
        results = list(ConformerRunner(2, deadline_s=30).run(conformer_smiles))
        conformer_s = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    causes = Counter((r.cause or "").split(":")[0] for r in results if r.geometry is None)
    retried = sum(1 for r in results if r.geometry is not None and r.geometry.attempts > 1)
    write_section("bench_build", render(args, rows, len(results), conformer_s, causes, retried, load), args.target)
    print(f"wrote {args.target}", file=sys.stderr)


def render(args, rows, n_conformers, conformer_s, causes, retried, load) -> str:
    base, base_cpu = rows[0][1], rows[0][2]
    lines = [
        "## Data builder throughput (`benchmarks/bench_build.py`)", "",
        f"Run {date.today()} with `{COMMAND} --molecules {args.molecules} --conformers {args.conformers}` on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, rdkit {rdkit.__version__}, selfies "
        f"{selfies.__version__}. Load average (1 min) at the start: {load:.1f}, at the end: {os.getloadavg()[0]:.1f} "
        "(other processes share these cores: compare the CPU seconds when it is above 1).",
        f"The first {args.molecules:,} MOSES training molecules: parse, normalise (canonical SMILES, SELFIES, InChI, "
        "InChIKey), QC (elements, size, charge, InChIKey dedup), descriptors (MW, LogP, TPSA, Bertz), four "
        "computed-property records each, hashed split, Parquet. Same record ids on every row (asserted).", "",
        "| runner | seconds | records | records/s | molecules/s | vs plain loop | CPU seconds | CPU vs plain loop |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, seconds, cpu, n in rows:
        lines.append(f"| {name} | {seconds:.1f} | {n:,} | {n / seconds:,.0f} | {n / 4 / seconds:,.0f} | "
                     f"{base / seconds:.2f}x | {cpu:.1f} | {base_cpu / cpu:.2f}x |")
    failed = sum(causes.values())
    lines += ["", f"Conformers (ETKDGv3 + MMFF94, 2 worker processes, 30 s hard deadline): {n_conformers} MOSES "
              f"molecules in {conformer_s:.1f} s = {n_conformers / conformer_s:.1f} conformers/s; "
              f"{failed} failed ({failed / n_conformers:.1%})"
              + (f": {dict(causes)}" if causes else "") + f"; {retried} needed a retry.", ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

"""Scoring speed on ChEBI-20 test, side by side with the per-pair reference way; writes BENCHMARKS.md.

    python benchmarks/bench_eval.py [--shared ../shared] [--repeat 3] [--skip-fcd-baseline]

Each variant runs in a fresh subprocess (libraries imported before the clock starts), `--repeat`
times; the median is reported. Molecule scoring runs cold (each run with a new, empty reference
feature cache) and warm (the cache one cold run left: the references' features read, the outputs'
computed). The engine must reproduce the baseline's values exactly (FCD: to 1e-4) or the
benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from report import write_section  # noqa: E402 - benchmarks/ is on the path above

TEXT_FILE = "molt5-small-smiles2caption.txt"
MOL_FILE = "molt5-small-caption2smiles.txt"


def child(kind: str, variant: str, path: Path, tokenizer: str) -> dict:
    """One timed run (inside a subprocess). Returns values, wall seconds and CPU seconds (with worker processes)."""
    import nltk
    import rdkit.Chem  # noqa: F401
    import rouge_score.rouge_scorer  # noqa: F401
    import transformers  # noqa: F401

    if variant == "baseline":
        from rdkit import RDLogger

        import per_pair_baseline as base

        RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]  # as the reference scripts do
        from molbridge.eval.wordnet import prepare_wordnet

        nltk.data.path.insert(0, str(prepare_wordnet()))  # nltk's default loader finds WordNet here
        run = {"text": lambda: base.text_metrics(path, tokenizer), "mol": lambda: base.molecule_metrics(path),
               "fcd": lambda: {"fcd": base.fcd_value(path)}}[kind]
    else:
        from molbridge.eval.engine import score_file

        if kind == "fcd":
            run = lambda: {"fcd": _engine_fcd(path)}  # noqa: E731
        else:
            task = "mol2text" if kind == "text" else "text2mol"
            run = lambda: score_file(path, task, text_tokenizer=tokenizer)[0].values()  # noqa: E731
    start, cpu = time.perf_counter(), _cpu_seconds()
    values = run()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu_seconds() - cpu, "values": values}


def _cpu_seconds() -> float:
    """User + system time of this process and its finished children (the scoring pool's workers)."""
    import resource

    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _engine_fcd(path: Path) -> float:
    """MolT5's FCD protocol (canonical valid SMILES, '' → '[]') through the engine's fast ChemNet."""
    from rdkit import Chem

    from molbridge.eval.fcd import fcd_score
    from molbridge.eval.predictions import read_predictions

    pairs = read_predictions(path, "text2mol")

    def canonical(smiles: list[str]) -> list[str]:
        mols = (Chem.MolFromSmiles(s) for s in smiles)
        return [Chem.MolToSmiles(m) for m in mols if m is not None]

    return fcd_score(canonical(pairs.references), canonical([p or "[]" for p in pairs.predictions]))


def measure(kind: str, variant: str, path: Path, tokenizer: str, repeat: int,
            caches: list[Path] | None = None) -> dict:
    """Median seconds of `repeat` fresh runs; run i keeps the references' features in `caches[i]` (else none)."""
    from molbridge.eval.feature_cache import CACHE_ENV

    runs = []
    for i in range(repeat):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", kind, variant, str(path), tokenizer],
            capture_output=True, text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore", CACHE_ENV: str(caches[i]) if caches else "off"},
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{kind}/{variant} failed:\n{proc.stderr[-3000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    seconds = [r["seconds"] for r in runs]
    return {"seconds": statistics.median(seconds), "all_seconds": seconds,
            "cpu": statistics.median(r["cpu_seconds"] for r in runs), "values": runs[0]["values"]}


def _sum(*runs: dict) -> dict:
    return {"seconds": sum(r["seconds"] for r in runs), "cpu": sum(r["cpu"] for r in runs)}


def compare(base: dict, engine: dict, tolerance: float) -> float:
    diffs = [abs(base[k] - engine[k]) for k in base]
    worst = max(diffs)
    if worst > tolerance:
        raise SystemExit(f"values differ by {worst} (> {tolerance}): baseline {base} vs engine {engine}")
    return worst


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    from molbridge.eval.versions import package_versions

    versions = package_versions("rdkit", "nltk", "rouge-score", "transformers", "fcd", "torch")
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, " + ", ".join(
        f"{k} {v}" for k, v in versions.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("MOLBRIDGE_SHARED", str(REPO.parent / "shared")))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-fcd-baseline", action="store_true", help="skip the ~5-minute fcd.get_fcd run")
    parser.add_argument("--out", default=str(REPO / "BENCHMARKS.md"))
    parser.add_argument("--child", nargs=4, metavar=("KIND", "VARIANT", "PATH", "TOKENIZER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, variant, path, tokenizer = args.child
        print(json.dumps(child(kind, variant, Path(path), tokenizer)))
        return

    load = os.getloadavg()[0]
    data = Path(args.shared) / "data"
    tokenizer = str(data / "tokenizers" / "scibert_scivocab_uncased")
    preds = data / "molt5-predictions"
    rows: list[tuple[str, dict | None, dict, str]] = []
    text_base = measure("text", "baseline", preds / TEXT_FILE, tokenizer, args.repeat)
    text_eng = measure("text", "engine", preds / TEXT_FILE, tokenizer, args.repeat)
    worst = compare(text_base["values"], text_eng["values"], 1e-12)
    rows.append(("molecule → caption (BLEU, ROUGE, METEOR)", text_base, text_eng,
                 f"identical (max |Δ| {worst:.0e})"))
    print(f"text: baseline {text_base['seconds']:.2f}s engine {text_eng['seconds']:.2f}s", flush=True)

    mol_base = measure("mol", "baseline", preds / MOL_FILE, tokenizer, args.repeat)
    with tempfile.TemporaryDirectory(prefix="molbridge-bench-eval-") as scratch:
        fresh = [Path(scratch) / f"cold-{i}" for i in range(args.repeat)]  # one new, empty cache per cold run
        cold = measure("mol", "engine", preds / MOL_FILE, tokenizer, args.repeat, caches=fresh)
        stored = list(fresh[0].glob("*.npz"))
        if len(stored) != 1:
            raise SystemExit(f"a cold run should leave one reference feature file, found {stored}")
        cache_mb = stored[0].stat().st_size / 1e6
        warm = measure("mol", "engine", preds / MOL_FILE, tokenizer, args.repeat, caches=[fresh[0]] * args.repeat)
    label = "caption → molecule (BLEU, exact, Levenshtein, validity, 3 FTS)"
    for run, how in ((cold, "cold: empty reference cache"),
                     (warm, f"warm: references' features read from the cache ({cache_mb:.1f} MB)")):
        worst = compare(mol_base["values"], run["values"], 1e-12)
        rows.append((f"{label}, {how}", mol_base, run, f"identical (max |Δ| {worst:.0e})"))
    print(f"mol: baseline {mol_base['seconds']:.2f}s cold {cold['seconds']:.2f}s warm {warm['seconds']:.2f}s",
          flush=True)
    rows.append(("text + molecule metrics together (cold)", _sum(text_base, mol_base), _sum(text_eng, cold),
                 "identical"))
    eng_fcd = measure("fcd", "engine", preds / MOL_FILE, tokenizer, args.repeat)
    if args.skip_fcd_baseline:
        rows.append(("FCD (fcd package ChemNet)", None, eng_fcd,
                     f"{eng_fcd['values']['fcd']:.6f} (baseline skipped)"))
    else:
        base_fcd = measure("fcd", "baseline", preds / MOL_FILE, tokenizer, 1)
        worst = compare(base_fcd["values"], eng_fcd["values"], 1e-4)
        rows.append(("FCD (fcd package ChemNet)", base_fcd, eng_fcd,
                     f"{eng_fcd['values']['fcd']:.6f} vs {base_fcd['values']['fcd']:.6f} (|Δ| {worst:.1e})"))
        print(f"fcd: baseline {base_fcd['seconds']:.1f}s engine {eng_fcd['seconds']:.2f}s", flush=True)

    lines = [
        "## Scoring engine vs per-pair reference (`benchmarks/bench_eval.py`)\n",
        f"Run {date.today()} with `python benchmarks/bench_eval.py` (`make bench`) on {machine()}; load average "
        f"{load:.1f} at the start (above 1, other jobs share the cores).",
        f"Files: ChEBI-20 test (3,300 pairs) from `../shared/data/molt5-predictions/` — `{TEXT_FILE}` and "
        f"`{MOL_FILE}`. Baseline: `benchmarks/per_pair_baseline.py`, the reference scripts' way (one pair at a "
        "time, one process, FCD by `fcd.get_fcd`). Engine: `molbridge.eval.engine.score_file` with 2 workers, "
        "including file reading and 1,000-resample bootstrap intervals for every metric. Each variant runs in a "
        f"fresh process; median of {args.repeat} runs (FCD baseline: 1 run), library import time excluded. "
        "Molecule scoring cold: each run starts with a new, empty reference feature cache (and writes it); warm: "
        "the cache a cold run wrote, so the references' parses, InChIs and fingerprints are read and only the "
        "outputs' are computed (scoring another checkpoint against the same test set). CPU s: user + system "
        "seconds of the run and its worker processes (median), which other jobs on the machine distort less than "
        "wall time.\n",
        "| what | baseline (s) | engine (s) | speed-up | CPU s, baseline / engine | values |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, b, e, note in rows:
        if b is None:
            lines.append(f"| {label} | – | {e['seconds']:.2f} | – | – / {e['cpu']:.1f} | {note} |")
        else:
            lines.append(f"| {label} | {b['seconds']:.2f} | {e['seconds']:.2f} | {b['seconds'] / e['seconds']:.1f}x | "
                         f"{b['cpu']:.1f} / {e['cpu']:.1f} | {note} |")
    write_section("bench_eval", "\n".join(lines) + "\n\n", Path(args.out))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

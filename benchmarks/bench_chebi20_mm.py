"""ChEBI-20-MM's grid on 2 CPU cores: which input modality suits which task, every cell against its copy baseline.

    python benchmarks/bench_chebi20_mm.py [--out runs/bench-mm] [--set KEY=VALUE ...]

Runs `molbridge bench mm configs/chebi20-mm.yaml` (resumable: a rerun finishes only the missing cells) with the
overrides given — the session's run used a smaller grid than the default one, named in the section — and the
SciBERT tokenizer of ../shared for caption scoring (SLM4Mol's convention) when it is there, then writes the
results table and the modality matrices into BENCHMARKS.md with the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import code_version, write_section

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-mm")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    from molbridge.apps.mm_config import load_grid_config
    from molbridge.apps.mm_grid import run_grid

    shared = Path(os.environ.get("MOLBRIDGE_SHARED", ROOT.parent / "shared"))
    scibert = shared / "data" / "tokenizers" / "scibert_scivocab_uncased"
    overrides = [f"data.train={shared / 'data/chebi20-mm/validation.csv'}",
                 f"data.test={shared / 'data/chebi20-mm/test.csv'}",
                 *([f"text_tokenizer={scibert}"] if scibert.is_dir() else []), *args.overrides]
    config = load_grid_config(ROOT / "configs" / "chebi20-mm.yaml", overrides)
    results = run_grid(config, args.out)
    seconds = [row["seconds"] for row in results["table"] if row["status"] == "done"]
    command = "python benchmarks/bench_chebi20_mm.py " + " ".join(f"--set {o}" for o in args.overrides)
    text = (f"Command: `{command}` ({date.today()}, {platform.machine()}, {os.cpu_count()} cores, code "
            f"{code_version()}). Grid: outputs {config.outputs}, inputs {config.inputs}, models {config.models}; "
            f"{config.budget_minutes} training minutes per cell; {config.data.test_molecules} test molecules per "
            f"cell; captions scored {'MolT5-style with SciBERT tokens' if config.text_tokenizer else 'by whitespace'}"
            f". Cells: {results['cells']}; cell wall time {min(seconds):.0f}–{max(seconds):.0f} s "
            f"(total {sum(seconds) / 60:.0f} min, one worker).\n\n" + (args.out / "results.md").read_text())
    write_section("bench_chebi20_mm", "## ChEBI-20-MM grid (bench_chebi20_mm.py)\n\n" + text, ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()

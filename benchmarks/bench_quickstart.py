"""The quickstart as a newcomer runs it: plain prompts vs retrieval-augmented prompts vs the copy baseline.

    python benchmarks/bench_quickstart.py [--budget-minutes 3.5] [--per-task 12] [--neighbours 2]

Both variants are `molbridge quickstart` itself, each in a fresh process, one after the other on the same
machine: the same dataset (built by the first, reused by the second), the same training budget, the same
held-out records, the same copy baseline. Reported: each phase's seconds and the total (the aim: ≤ 8 minutes
on 2 cores after set-up), and per task group the headline metric of the copy baseline and of each tuned model
with 95% bootstrap intervals, and who wins (the aim: the retrieval-augmented model matches or beats copy on at
least half of the groups). Writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from report import write_section  # noqa: E402 - benchmarks/ is on the path above

COMMAND = "python benchmarks/bench_quickstart.py"
AIM_SECONDS = 8 * 60


def run_variant(out: Path, neighbours: int, args: argparse.Namespace) -> tuple[dict, float]:
    """One `molbridge quickstart` in its own process; (metrics.json, wall seconds including start-up)."""
    command = [sys.executable, "-m", "molbridge", "quickstart", "--out", str(out), "--neighbours", str(neighbours),
               "--budget-minutes", str(args.budget_minutes), "--per-task", str(args.per_task), "--quiet"]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO)
    return json.loads((out / "metrics.json").read_text()), time.perf_counter() - started


def interval(details: dict, metric: str) -> str:
    value = details.get(metric)
    if value is None or value["value"] is None or value["value"] != value["value"]:
        return "—"
    low, high = value.get("ci_low"), value.get("ci_high")
    shown = f"{value['value']:.3g}"
    return f"{shown} [{low:.3g}, {high:.3g}]" if low is not None and high is not None else shown


def section(variants: dict[str, tuple[dict, float]], args: argparse.Namespace) -> str:
    import torch
    import transformers

    names = list(variants)
    first = variants[names[0]][0]
    lines = [
        "## Quickstart: plain vs retrieval-augmented prompts vs copy (`benchmarks/bench_quickstart.py`)\n",
        f"Run {date.today()} with `{COMMAND} --budget-minutes {args.budget_minutes} --per-task {args.per_task} "
        f"--neighbours {args.neighbours}` on {os.cpu_count()} cores, Python {platform.python_version()}, torch "
        f"{torch.__version__}, transformers {transformers.__version__}. Load average at the start: "
        f"{args.load:.1f}.",
        f"Each variant is `molbridge quickstart` in a fresh process ({first['model']}, LoRA, training budget "
        f"{args.budget_minutes} min, {args.per_task} held-out test records per task group, scaffold split); the "
        "second reuses the first one's built dataset, so its build phase is ~0 s and the first's is the one a "
        "newcomer waits for. Brackets: 95% bootstrap intervals over the group's records.\n",
        "| phase | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    phases = list(first["timings_s"])
    for phase in phases:
        lines.append(f"| {phase} | " + " | ".join(f"{variants[n][0]['timings_s'].get(phase, 0):.0f} s"
                                                 for n in names) + " |")
    lines.append("| **total, phases** | " + " | ".join(
        f"**{sum(variants[n][0]['timings_s'].values()):.0f} s**" for n in names) + " |")
    lines.append("| wall, with process start | " + " | ".join(f"{variants[n][1]:.0f} s" for n in names) + " |")
    newcomer = variants[names[-1]][0]["timings_s"]
    total = sum(newcomer.values()) + variants[names[0]][0]["timings_s"]["build"] - newcomer.get("build", 0)
    lines.append(f"\nA newcomer's run of the default (`{names[-1]}`, building its own data): {total:.0f} s "
                 f"({'within' if total <= AIM_SECONDS else 'over'} the 8-minute aim).\n")
    for n in names:
        training = variants[n][0]["training"]
        lines.append(f"- `{n}`: {training['steps']} optimizer steps on {training['train_examples']:,} examples, "
                     f"{training['real_tokens']:,} real tokens at {training['real_tokens_per_s']:.0f} tokens/s.")
    lines += ["", "| task group | headline metric (unit) | copy baseline | " + " | ".join(names) + " | winner vs "
              "copy (" + ", ".join(names) + ") |", "|---|---|---:|" + "---:|" * len(names) + "---|"]
    for group, verdict in first["verdict"]["groups"].items():
        metric, unit = verdict["metric"], verdict["unit"]
        copy = interval(first["tasks"][group]["copy_baseline"]["details"], metric)
        ours = [interval(variants[n][0]["tasks"][group]["model"]["details"], metric) for n in names]
        winners = ", ".join(variants[n][0]["verdict"]["groups"][group]["winner"] for n in names)
        direction = "↓" if metric in ("mae", "rmse") else "↑"
        lines.append(f"| {group} | {metric} {direction} ({unit}) | {copy} | " + " | ".join(ours) + f" | {winners} |")
    lines.append("")
    for n in names:
        counts = variants[n][0]["verdict"]["tally"]
        groups = len(variants[n][0]["verdict"]["groups"])
        met = counts["model"] + counts["tie"] >= groups / 2
        lines.append(f"- `{n}`: wins {counts['model']}, ties {counts['tie']}, loses {counts['copy']} of {groups} "
                     f"groups: the aim (matches or beats copy on ≥ half) is {'met' if met else 'missed'}.")
    return "\n".join(lines) + "\n\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-minutes", type=float, default=3.5)
    parser.add_argument("--per-task", type=int, default=12)
    parser.add_argument("--neighbours", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "bench-quickstart")
    args = parser.parse_args()
    args.load = os.getloadavg()[0]
    shutil.rmtree(args.out, ignore_errors=True)
    variants: dict[str, tuple[dict, float]] = {}
    plain = args.out / "plain"
    variants["plain prompts"] = run_variant(plain, 0, args)
    augmented = args.out / "retrieval"
    shutil.copytree(plain / "data", augmented / "data")  # the same dataset; its build is not timed twice
    variants[f"{args.neighbours} retrieved examples"] = run_variant(augmented, args.neighbours, args)
    write_section("bench_quickstart", section(variants, args), REPO / "BENCHMARKS.md")
    print((REPO / "BENCHMARKS.md").read_text().split("<!-- bench_quickstart:start -->")[1].split(
        "<!-- bench_quickstart:end -->")[0])


if __name__ == "__main__":
    main()

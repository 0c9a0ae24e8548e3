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

from molbridge.apps.predict import read_predictions_file  # noqa: E402
from molbridge.apps.scoring import score_predictions  # noqa: E402
from molbridge.apps.summary import Verdict, compared, tally, verdicts  # noqa: E402
from molbridge.eval.results import MetricValue  # noqa: E402
from report import write_section  # noqa: E402 - benchmarks/ is on the path above

COMMAND = "python benchmarks/bench_quickstart.py"
AIM_SECONDS = 8 * 60
DIRECTORIES = ("plain", "retrieval")  # under --out: the two variants' quickstart directories
RUN_FILE = "run.json"  # under --out: the load average and date the runs started with


def run_variant(out: Path, neighbours: int, args: argparse.Namespace) -> tuple[dict, float]:
    """One `molbridge quickstart` in its own process; (metrics.json, wall seconds including start-up)."""
    command = [sys.executable, "-m", "molbridge", "quickstart", "--out", str(out), "--neighbours", str(neighbours),
               "--budget-minutes", str(args.budget_minutes), "--per-task", str(args.per_task), "--quiet"]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO)
    return json.loads((out / "metrics.json").read_text()), time.perf_counter() - started


def judged(out: Path) -> list[Verdict]:
    """The run's verdicts, from its prediction and baseline files, scored by this code (as the quickstart does)."""
    predictions = read_predictions_file(out / "predictions.jsonl")
    reports = score_predictions(predictions)
    copies = score_predictions(read_predictions_file(out / "baseline.jsonl"))
    return verdicts(reports, copies, {p.group: p.task for p in predictions})


def shown(metric: MetricValue | None) -> str:
    """The value a verdict compares (over every answer, invalid as 0, where the metric has that reading; no
    interval then), else the value with its interval."""
    value = compared(metric)
    if metric is None or value is None:
        return "—"
    if metric.all_n is not None or metric.ci_low is None or metric.ci_high is None:
        return f"{value:.3g}"
    return f"{value:.3g} [{metric.ci_low:.3g}, {metric.ci_high:.3g}]"


def section(variants: dict[str, tuple[dict, float]], args: argparse.Namespace) -> str:
    import torch
    import transformers

    names = list(variants)
    first = variants[names[0]][0]
    lines = [
        "## Quickstart: plain vs retrieval-augmented prompts vs copy (`benchmarks/bench_quickstart.py`)\n",
        f"Run {args.date} with `{COMMAND} --budget-minutes {args.budget_minutes} --per-task {args.per_task} "
        f"--neighbours {args.neighbours}` on {os.cpu_count()} cores, Python {platform.python_version()}, torch "
        f"{torch.__version__}, transformers {transformers.__version__}. Load average at the start: "
        f"{args.load:.1f}." + (" Scores recomputed from the runs' prediction files by `--rescore` with the "
                                 "current scoring code." if args.rescore else ""),
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
    if not args.rescore:
        lines.append("| wall, with process start | " + " | ".join(f"{variants[n][1]:.0f} s" for n in names) + " |")
    newcomer = variants[names[-1]][0]["timings_s"]
    total = sum(newcomer.values()) + variants[names[0]][0]["timings_s"]["build"] - newcomer.get("build", 0)
    lines.append(f"\nA newcomer's run of the default (`{names[-1]}`, building its own data): {total:.0f} s "
                 f"({'within' if total <= AIM_SECONDS else 'over'} the 8-minute aim).\n")
    for n in names:
        training = variants[n][0]["training"]
        lines.append(f"- `{n}`: {training['steps']} optimizer steps on {training['train_examples']:,} examples, "
                     f"{training['real_tokens']:,} real tokens at {training['real_tokens_per_s']:.0f} tokens/s.")
    judgements = {n: {v.group: v for v in judged(args.out / DIRECTORIES[i])} for i, n in enumerate(names)}
    lines += ["", "| task group | headline metric (unit) | copy baseline | " + " | ".join(names) + " | winner vs "
              "copy (" + ", ".join(names) + ") |", "|---|---|---:|" + "---:|" * len(names) + "---|"]
    for group, first_verdict in judgements[names[0]].items():
        every = ", all answers (invalid 0)" if first_verdict.copy is not None and first_verdict.copy.all_n is not None \
            else ""
        direction = "↑" if first_verdict.higher_is_better else "↓"
        ours = [shown(judgements[n][group].model) for n in names]
        winners = ", ".join(judgements[n][group].winner for n in names)
        lines.append(f"| {group} | {first_verdict.metric}{every} {direction} ({first_verdict.unit}) | "
                     f"{shown(first_verdict.copy)} | " + " | ".join(ours) + f" | {winners} |")
    lines.append("")
    for n in names:
        counts = tally(list(judgements[n].values()))
        groups = len(judgements[n])
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
    parser.add_argument("--rescore", action="store_true", help="score the runs already in --out again (after a "
                        "scoring change) and rewrite the section; no quickstart is run")
    args = parser.parse_args()
    args.load, args.date = os.getloadavg()[0], str(date.today())
    plain, augmented = (args.out / d for d in DIRECTORIES)
    names = ("plain prompts", f"{args.neighbours} retrieved examples")
    if args.rescore:  # the runs already in --out, scored again by this code (their timings and load are theirs)
        variants = {n: (json.loads((d / "metrics.json").read_text()), float("nan"))
                    for n, d in zip(names, (plain, augmented), strict=True)}
        args.load, args.date = (json.loads((args.out / RUN_FILE).read_text())[k] for k in ("load", "date"))
    else:
        shutil.rmtree(args.out, ignore_errors=True)
        args.out.mkdir(parents=True)
        (args.out / RUN_FILE).write_text(json.dumps({"load": args.load, "date": args.date}))
        variants = {names[0]: run_variant(plain, 0, args)}
        shutil.copytree(plain / "data", augmented / "data")  # the same dataset; its build is not timed twice
        variants[names[1]] = run_variant(augmented, args.neighbours, args)
    write_section("bench_quickstart", section(variants, args), REPO / "BENCHMARKS.md")
    print((REPO / "BENCHMARKS.md").read_text().split("<!-- bench_quickstart:start -->")[1].split(
        "<!-- bench_quickstart:end -->")[0])


if __name__ == "__main__":
    main()

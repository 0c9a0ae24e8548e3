"""The dataset card of a build: `card.json` (machine-readable), `card.md` (for people) and plots.

Counts per split and task, every QC drop and flag by reason, every source record that could not
be used (counted, with examples), the licences of the sources, and histograms over the distinct
kept molecules: molecular weight, Bertz complexity, heavy atoms and rings, plus records per task.
Protein lengths are plotted when the build has proteins. It also says how to load the data
with Hugging Face `datasets`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt
import numpy as np

from molbridge.atomic import atomic_path, write_json, write_text
from molbridge.tasks import SOURCES

PLOTS = (("mol_weight", "molecular weight (g/mol)"), ("bertz_complexity", "Bertz complexity"),
         ("heavy_atoms", "heavy atoms"), ("rings", "rings (SSSR)"))


def _histogram(values: Sequence[float], label: str, path: Path, integer: bool) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    bins = (np.arange(min(values), max(values) + 2) - 0.5).tolist() if integer else 40
    ax.hist(values, bins=bins, color="#3b6ea5")
    ax.set_xlabel(label)
    ax.set_ylabel("molecules")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _tasks_plot(per_task: dict[str, int], path: Path) -> None:
    names = sorted(per_task, key=per_task.__getitem__)
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1), dpi=100)
    ax.barh(names, [per_task[n] for n in names], color="#5a9e6f")
    ax.set_xlabel("records")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def write_card(out: Path, config, counts: dict, qc_report: dict, problems: dict, molecules: list,
               proteins: list[int], *, runner: str) -> dict:
    """Write card.json, card.md and plots/ into `out`; returns the card."""
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    per_task: dict[str, int] = {}
    for tasks in counts.values():
        for task, n in tasks.items():
            per_task[task] = per_task.get(task, 0) + n
    figures = {}
    if per_task:
        _tasks_plot(per_task, plots / "records_per_task.png")
        figures["records per task"] = "plots/records_per_task.png"
    columns = list(zip(*[m[1:] for m in molecules])) if molecules else []
    summary = {}
    for (name, label), column in zip(PLOTS, columns):
        values = list(column)
        _histogram(values, label, plots / f"{name}.png", integer=name in ("heavy_atoms", "rings"))
        figures[label] = f"plots/{name}.png"
        summary[name] = {"min": min(values), "median": float(np.median(values)), "max": max(values)}
    if proteins:
        _histogram(proteins, "protein length (residues)", plots / "protein_length.png", integer=False)
        figures["protein length (residues)"] = "plots/protein_length.png"
        summary["protein_length"] = {"min": min(proteins), "median": float(np.median(proteins)), "max": max(proteins)}
    sources = [{"kind": s.kind, "tasks": s.tasks, "limit": s.limit, "license": SOURCES.get(s.kind).license}
               for s in config.sources]
    card = {
        "name": config.name, "description": config.description, "fingerprint": config.fingerprint(),
        "records": sum(per_task.values()), "splits": {k: sum(v.values()) for k, v in counts.items()},
        "tasks": per_task, "counts": counts, "molecules": len(molecules), "proteins": len(proteins),
        "molecule_stats": summary,
        "qc": qc_report, "problems": problems, "sources": sources, "split": config.split.model_dump(mode="json"),
        "runner": runner, "plots": figures, "phrasings": _phrasings(config.phrasings_dir),
        "load": "datasets.load_dataset('parquet', data_files={s: f'data/{s}-*.parquet' for s in "
                "('train', 'validation', 'test')})",
    }
    write_json(out / "card.json", card)
    write_text(out / "card.md", _markdown(card))
    return card


def _phrasings(directory: str | None) -> dict:
    """Which phrasing files replaced the package's, and how many of their phrasings a model generated."""
    if not directory:
        return {"dir": None, "generated": {}}
    generated = {}
    for path in sorted(Path(directory).glob("*.json")):
        lists = json.loads(path.read_text(encoding="utf-8")).get("generated", {})
        generated[path.stem] = sum(len(v) for v in lists.values())
    return {"dir": directory, "generated": generated}


def _markdown(card: dict) -> str:
    lines = [f"# {card['name']}", "", card["description"], "",
             f"{card['records']:,} records ({', '.join(f'{k} {v:,}' for k, v in card['splits'].items())}) about "
             f"{card['molecules']:,} distinct molecules and {card['proteins']:,} proteins; "
             f"split `{card['split']['method']}` "
             f"{tuple(card['split']['fractions'])}, seed {card['split']['seed']}. Built with {card['runner']}.", "",
             "## Load", "", "```python", "import datasets", f"ds = {card['load']}", "```", "",
             "## Records per task and split", "", "| task | " + " | ".join(card["counts"]) + " | all |",
             "|---|" + "---:|" * (len(card["counts"]) + 1)]
    for task in sorted(card["tasks"]):
        cells = [f"{card['counts'][s].get(task, 0):,}" for s in card["counts"]]
        lines.append(f"| {task} | " + " | ".join(cells) + f" | {card['tasks'][task]:,} |")
    qc = card["qc"]
    lines += ["", "## Quality control", "", f"{qc.get('seen', 0):,} records built, {qc.get('kept', 0):,} kept.", ""]
    lines += [f"- dropped, {reason}: {n:,}" for reason, n in sorted(qc.get("dropped", {}).items())]
    lines += [f"- flagged (kept), {reason}: {n:,}" for reason, n in sorted(qc.get("flagged", {}).items())]
    lines += ["", "## Source records not used", ""]
    for entry in card["problems"].values():
        lines.append(f"- {entry['kind']}: {entry['reading']:,} unreadable rows, {entry['build']:,} build problems "
                     "(an invalid molecule or schema violation drops the item; a missing conformer keeps its records)")
        lines += [f"  - {name}: {value}" for name, value in entry.get("notes", {}).items()]
        lines += [f"  - {name.replace('_', ' ')}: {n:,}" for name, n in entry.get("counts", {}).items()]
        lines += [f"  - `{where}`: {reason}" for where, reason in entry["examples"][:5]]
    lines += ["", "## Molecules and proteins", ""]
    lines += [f"- {name}: min {s['min']:.1f}, median {s['median']:.1f}, max {s['max']:.1f}"
              for name, s in card["molecule_stats"].items()]
    lines += [""] + [f"![{label}]({path})" for label, path in card["plots"].items()]
    if card["phrasings"]["dir"]:
        lines += ["", f"Phrasings from `{card['phrasings']['dir']}`; model-generated phrasings per family: "
                  + ", ".join(f"{k} {v}" for k, v in card["phrasings"]["generated"].items())]
    lines += ["", "## Sources and licences", ""]
    lines += [f"- {s['kind']}: tasks {', '.join(s['tasks'])}" + (f" (first {s['limit']:,} items)" if s["limit"] else "")
              + f"; licence {s['license']}" for s in card["sources"]]
    return "\n".join(lines) + "\n"

"""The grid's figures and `report.html`: one self-contained page (no network) with the results table, a heatmap per
modality matrix (colour: the normalised value; text: the raw headline metric, so a colour is never read without
its score) and the IUPAC → caption token-association heatmap with its specific pairs. PNGs are also written
beside it (`figures/`)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt
import numpy as np

from molbridge.apps.mm_results import shown_value
from molbridge.apps.report import png_bytes
from molbridge.atomic import write_bytes, write_text

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1300px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}td,th{border:1px solid #ccc;padding:.25em .5em}
th{background:#f3f3f3}.bad{color:#b00}img{max-width:100%}"""


def matrix_figure(matrix: dict, title: str) -> bytes:
    """A heatmap of the normalised matrix annotated with the raw scores (NaN cells left blank)."""
    normalised = np.array([[np.nan if v is None else v for v in row] for row in matrix["normalised"]], dtype=float)
    width = max(4.0, 1.3 * len(matrix["tasks"]) + 2)
    figure, axes = plt.subplots(figsize=(width, 0.55 * len(matrix["inputs"]) + 2))
    axes.imshow(np.ma.masked_invalid(normalised), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for i, row in enumerate(matrix["raw"]):
        for j, raw in enumerate(row):
            if raw is not None:
                axes.text(j, i, f"{raw:.3g}", ha="center", va="center", fontsize=8,
                          color="white" if normalised[i, j] < 0.6 else "black")
    arrows = ["↑" if up else "↓" for up in matrix["higher_better"]]
    axes.set_xticks(range(len(matrix["tasks"])), [f"{t} {a}" for t, a in zip(matrix["tasks"], arrows, strict=True)],
                    rotation=35, ha="right", fontsize=8)
    axes.set_yticks(range(len(matrix["inputs"])), matrix["inputs"], fontsize=8)
    axes.set_title(title, fontsize=10)
    return png_bytes(figure)


def association_figure(found: dict) -> bytes:
    values = np.array(found["normalised"], dtype=float)
    figure, axes = plt.subplots(figsize=(0.35 * len(found["columns"]) + 3, 0.3 * len(found["rows"]) + 2))
    axes.imshow(values, cmap="magma", aspect="auto")
    axes.set_xticks(range(len(found["columns"])), found["columns"], rotation=60, ha="right", fontsize=7)
    axes.set_yticks(range(len(found["rows"])), found["rows"], fontsize=7)
    axes.set_title(f"IUPAC token × generated caption token (T = {found['threshold']:.2f})", fontsize=9)
    return png_bytes(figure)


def write_report(out: Path, results: dict) -> Path:
    """`figures/*.png` and `report.html` from `results` (`apps.mm_results.collect`)."""
    figures: list[tuple[str, bytes]] = []
    for name, matrix in results["matrices"].items():
        figures.append((f"matrix-{name}", matrix_figure(matrix, f"modality matrix: {name} (colour: min–max per "
                                                                 "column; text: raw metric)")))
    if results["association"]:
        figures.append(("association", association_figure(results["association"])))
    for name, png in figures:
        write_bytes(out / "figures" / f"{name}.png", png)
    counts = results["cells"]
    parts = [f"<h1>ChEBI-20-MM grid: {html.escape(results['name'])}</h1>",
             f"<p>{counts['done']} cells done, {counts['failed']} failed, {counts['missing']} missing; training "
             f"budget {results['budget_minutes']} min per cell. Headline metric per column; every score is on the "
             "same test molecules as its copy baseline (the nearest training record's answer).</p>",
             _table(results["table"])]
    parts += [f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" src="data:image/png;base64,'
              f'{base64.b64encode(png).decode()}">' for name, png in figures]
    if results["association"]:
        pairs = "".join(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{v:.3f}</td></tr>"
                        for a, b, v in results["association"]["pairs"][:40])
        parts.append(f"<h2>specific IUPAC → caption pairs</h2><table><tr><th>IUPAC token</th><th>caption token</th>"
                     f"<th>normalised co-occurrence</th></tr>{pairs}</table>")
    path = out / "report.html"
    write_text(path, f"<!doctype html><html><head><meta charset='utf-8'><title>ChEBI-20-MM grid</title>"
                     f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")
    return path


def _table(rows: list[dict]) -> str:
    head = ("<tr><th>input</th><th>output</th><th>model</th><th>metric</th><th>N</th><th>model [95% CI]</th>"
            "<th>copy [95% CI]</th><th>steps</th><th>tokens seen</th></tr>")
    body = []
    for row in rows:
        if row["status"] != "done":
            body.append(f"<tr><td>{row['input']}</td><td>{row['output']}</td><td>{row['model']}</td>"
                        f"<td colspan='6' class='bad'>{row['status']}: {html.escape(row.get('error', ''))}</td></tr>")
            continue
        body.append(f"<tr><td>{row['input']}</td><td>{row['column']}</td><td>{row['model']}</td><td>{row['metric']}"
                    f"</td><td>{row['n']}</td><td>{shown_value(row['score'])}</td><td>{shown_value(row['copy_score'])}</td>"
                    f"<td>{row['steps'] if row['steps'] is not None else '—'}</td>"
                    f"<td>{row['tokens_seen'] if row['tokens_seen'] is not None else '—'}</td></tr>")
    return "<table>" + head + "".join(body) + "</table>"


"""`report.html`: one self-contained page (no network) with the metric table, the loss curve and examples.

The quickstart writes one, and `molbridge predict --report` writes one for any run (a 3D-MoLM run
too: its property answers, or a stage-1 run's retrieval table). Every metric shows its value, its
95% bootstrap interval and N, next to the copy baseline's;
invalid answers are shown as counts, because they were scored, not dropped. Molecules in the
examples are drawn by RDKit as inline SVG; the loss curve is an inline PNG.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from molbridge.apps.predict import Prediction
from molbridge.apps.summary import Verdict, metric_unit, tally, verdicts
from molbridge.atomic import write_text
from molbridge.eval.results import MetricReport, MetricValue
from molbridge.tasks.answers import answer_kind
from molbridge.train.run_log import read_log

EXAMPLES_PER_TASK = 3
_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .6em;
vertical-align:top}th{background:#f3f3f3}.ci{color:#777;font-size:.85em}.bad{color:#b00}.ok{color:#070}
.mono{font-family:monospace;word-break:break-all;max-width:380px}svg{display:block}"""


def _metric(value: MetricValue | None) -> str:
    if value is None or value.value is None or (isinstance(value.value, float) and math.isnan(value.value)):
        return "—"
    ci = (f' <span class="ci">[{value.ci_low:.3f}, {value.ci_high:.3f}]</span>'
          if value.ci_low is not None and value.ci_high is not None else "")
    return f"{value.value:.3f}{ci}"


def _counts(report: MetricReport) -> str:
    shown = {k: v for k, v in report.counts.items() if isinstance(v, int | float)}
    return ", ".join(f"{k} {v}" for k, v in shown.items()) or "—"


def _table(reports: Mapping[str, MetricReport], baselines: Mapping[str, MetricReport]) -> str:
    rows = ["<tr><th>task</th><th>N</th><th>metric</th><th>unit</th><th>tuned model</th><th>copy baseline</th>"
            "<th>counts</th></tr>"]
    for group, report in reports.items():
        base = baselines.get(group)
        names = list(report.metrics)
        for position, name in enumerate(names):
            lead = (f'<td rowspan="{len(names)}"><b>{html.escape(group)}</b></td><td rowspan="{len(names)}">'
                    f"{report.n}</td>") if position == 0 else ""
            tail = f'<td rowspan="{len(names)}">{html.escape(_counts(report))}</td>' if position == 0 else ""
            rows.append(f"<tr>{lead}<td>{html.escape(name)}</td><td>{html.escape(metric_unit(name, report))}</td>"
                        f"<td>{_metric(report.metrics[name])}</td>"
                        f"<td>{_metric(base.metrics.get(name) if base else None)}</td>{tail}</tr>")
    return "<table>" + "".join(rows) + "</table>"


_MARKS = {"model": '<span class="ok">model</span>', "copy": '<span class="bad">copy</span>', "tie": "tie", "none": "—"}


def _summary(found: Sequence[Verdict]) -> str:
    """The verdict at the top: the tally, a figure of the normalised scores and one row per group."""
    counts = tally(list(found))
    lead = (f"<p><b>Tuned model vs copy baseline, headline metric per task group:</b> the model wins "
            f"{counts['model']}, ties {counts['tie']} and loses {counts['copy']} of {len(found)} groups "
            f"(it matches or beats the copy baseline on {counts['model'] + counts['tie']}).</p>")
    rows = ["<tr><th>task group</th><th>headline metric</th><th>unit</th><th>tuned model</th><th>copy baseline</th>"
            "<th>model ÷ copy (> 1 favours the model)</th><th>winner</th></tr>"]
    for v in found:
        ratio = "—" if v.normalised is None else "∞" if math.isinf(v.normalised) else f"{v.normalised:.2f}"
        every = " over every answer, invalid as 0" if v.model is not None and v.model.all_n is not None else ""
        rows.append(f"<tr><td>{html.escape(v.group)}</td><td>{v.metric}{every} ("
                    f"{'higher' if v.higher_is_better else 'lower'} is better)</td><td>{html.escape(v.unit)}</td>"
                    f"<td>{_compared(v.model)}</td><td>{_compared(v.copy)}</td><td>{ratio}</td>"
                    f"<td>{_MARKS[v.winner]}</td></tr>")
    return lead + _verdict_figure(found) + "<table>" + "".join(rows) + "</table>"


def _compared(metric: MetricValue | None) -> str:
    """The value a verdict compared: the all-answers reading (no interval) where there is one, else with its
    interval."""
    if metric is not None and metric.all_n is not None:
        return f"{metric.all_n:.3f}"
    return _metric(metric)


def _verdict_figure(found: Sequence[Verdict]) -> str:
    """Horizontal bars of each group's normalised score on a log scale (1 = the copy baseline)."""
    shown = [v for v in found if v.normalised is not None and v.normalised > 0]
    if not shown:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = [min(max(v.normalised or 0.0, 0.01), 100.0) for v in shown]  # ∞ and 0 drawn at the axis' ends
    colours = {"model": "#2a8a2a", "copy": "#b03030", "tie": "#888888", "none": "#888888"}
    figure, axis = plt.subplots(figsize=(7, 0.3 * len(shown) + 1.2))
    axis.barh([v.group for v in shown], values, color=[colours[v.winner] for v in shown])
    axis.set_xscale("log")
    axis.axvline(1.0, color="black", linewidth=1)
    axis.invert_yaxis()
    axis.set_xlabel("headline metric, model ÷ copy baseline (log scale; > 1 favours the model)")
    picture = base64.b64encode(png_bytes(figure)).decode()
    return f'<img alt="model vs copy baseline" src="data:image/png;base64,{picture}">'


def _loss_curve(log_csv: Path) -> str:
    rows = read_log(log_csv)
    if not rows:
        return "<p>No training log.</p>"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [int(r["step"]) for r in rows]
    figure, axis = plt.subplots(figsize=(7, 3.2))
    axis.plot(steps, [float(r["loss"]) for r in rows], label="training loss")
    evaluated = [(int(r["step"]), float(r["eval_loss"])) for r in rows if r.get("eval_loss")]
    if evaluated:
        axis.plot(*zip(*evaluated, strict=True), "o-", label="held-out loss")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("cross-entropy")
    axis.legend()
    return f'<img alt="loss curve" src="data:image/png;base64,{base64.b64encode(png_bytes(figure)).decode()}">'


def png_bytes(figure) -> bytes:
    """A matplotlib figure as PNG bytes (laid out, then closed): every figure a report embeds."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _depiction(smiles: str) -> str:
    """An inline SVG of a molecule, or "" when the text is not one."""
    from rdkit import Chem

    from molbridge.chem.depiction import depict_svg
    from molbridge.chem.rdkit_log import divert_rdkit_messages

    with divert_rdkit_messages():  # most inputs are not SMILES (captions, SELFIES, names): expected failures
        mol = Chem.MolFromSmiles(smiles) if smiles and len(smiles) < 300 else None
    if mol is None or not mol.GetNumAtoms():
        return ""
    svg = depict_svg(mol, 220, 160)
    return svg[svg.index("<svg"):]


def _cell(text: str, as_smiles: Callable[[str], str | None] | None) -> str:
    """A table cell; a molecule (read by `as_smiles`: SMILES, SELFIES, InChI) is drawn above its text."""
    smiles = as_smiles(text) if as_smiles is not None and text else None
    picture = _depiction(smiles) if smiles else ""
    return f'<td class="mono">{picture}{html.escape(text[:400])}</td>'


def _same(text: str) -> str:
    return text  # inputs are drawn when RDKit reads them as SMILES (most are captions, names or SELFIES: not drawn)


def _examples(predictions: Sequence[Prediction], sources: Mapping[str, str]) -> str:
    rows = ["<tr><th>task</th><th>input</th><th>reference</th><th>prediction</th><th>valid</th></tr>"]
    shown: dict[str, int] = {}
    for p in predictions:
        if shown.get(p.group, 0) >= EXAMPLES_PER_TASK:
            continue
        shown[p.group] = shown.get(p.group, 0) + 1
        source = sources.get(p.id, "")
        answer = answer_kind(p.kind).as_smiles
        mark = '<span class="ok">yes</span>' if p.valid else '<span class="bad">no</span>'
        rows.append(f"<tr><td>{html.escape(p.group)}</td>{_cell(source, _same)}{_cell(p.reference, answer)}"
                    f"{_cell(p.prediction, answer)}<td>{mark}"
                    f"{f' ({p.attempts} tries)' if p.attempts > 1 else ''}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


SCAFFOLD_NOTE = ("Each task is scored on up to {n} held-out test records (scaffold split: no test scaffold or protein "
                 "cluster was seen in training) with the molbridge scoring engine; brackets are 95% bootstrap "
                 "intervals. Invalid answers are counted and scored, never dropped. The copy baseline answers each "
                 "test record with the answer of its nearest training record of the same task (Morgan Tanimoto for "
                 "molecule inputs, BM25 for text inputs).")


@dataclass(frozen=True)
class ReportPage:
    """What one report shows: a title, a summary and a note on how it was scored (plain text), the score table
    (with the copy baseline's, when there is one), the run's loss log, and example answers with their inputs."""

    title: str
    summary: str
    scoring: str
    reports: Mapping[str, MetricReport]
    baselines: Mapping[str, MetricReport] = field(default_factory=dict)
    predictions: Sequence[Prediction] = ()
    log_csv: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)  # phase → seconds


def training_summary(model: str, training: Mapping) -> str:
    """One sentence on a training run from its result (`train_state.json` / TrainResult fields)."""
    return (f"{model}: {training['steps']} optimizer steps ({training['stopped']}) on "
            f"{training['train_examples']:,} training examples ({training['left_out']} left out), "
            f"{training['real_tokens']:,} real / {training['padded_tokens']:,} padded tokens, "
            f"{training['real_tokens_per_s']:,.0f} real tokens/s.")


def write_report(path: Path, page: ReportPage) -> None:
    examples = f"<h2>Example predictions</h2>{_examples(page.predictions, page.sources)}" if page.predictions else ""
    tasks = {p.group: p.task for p in page.predictions}
    summary = (f"<h2>Summary</h2>{_summary(verdicts(page.reports, page.baselines, tasks))}"
               if page.baselines and set(page.reports) <= set(tasks) else "")
    timings = ("<p>Time per phase: " + ", ".join(f"{html.escape(k)} {v:.0f} s" for k, v in page.timings.items())
               + f" (total {sum(page.timings.values()):.0f} s).</p>") if page.timings else ""
    curve = _loss_curve(page.log_csv) if page.log_csv is not None else "<p>No training log.</p>"
    text = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(page.title)} report</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(page.title)}</h1>
<p>{html.escape(page.summary)}</p>
{timings}
{summary}
<p>{html.escape(page.scoring)}</p>
<h2>Metrics</h2>{_table(page.reports, page.baselines)}
<h2>Training loss</h2>{curve}
{examples}
</body></html>
"""
    write_text(path, text)

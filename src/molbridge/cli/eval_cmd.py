"""`molbridge eval`: score prediction files with the declared scoring engine."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from molbridge.cli.errors import user_errors
from molbridge.tasks import TASKS, Task

app = typer.Typer(help="Score prediction files (MolT5 conventions by default).", no_args_is_help=True)

FormatOpt = typer.Option("molt5", "--format", "-f", help="molt5 | molregpt | jsonl | csv")
ReferenceOpt = typer.Option(None, "--reference", "-r", help="ChEBI-20 TSV to join predictions on CID")
TokenizerOpt = typer.Option(
    None, "--text-tokenizer", help="tokenizer dir or hub id (default: $MOLBRIDGE_TEXT_TOKENIZER, else SciBERT)"
)
ConventionOpt = typer.Option("molt5", "--convention", "-c", help="named convention (see `molbridge eval conventions`)")
BertScoreOpt = typer.Option(None, "--bertscore-model", help="text: a BERT-family model directory for BERTScore "
                            "P/R/F1 beside the other metrics (SEPIT: PubMedBERT)")
JsonOpt = typer.Option(False, "--json", help="print one JSON object")
WorkersOpt = typer.Option(None, "--workers", help="worker processes (default: usable cores)")
BootstrapOpt = typer.Option(None, "--bootstrap", help="bootstrap resamples (0 = no intervals)")
IdOpt = typer.Option("id", "--id-field", help="jsonl/csv: id field (joined with --reference)")
RefFieldOpt = typer.Option("reference", "--reference-field", help="jsonl/csv: reference field")
PredFieldOpt = typer.Option("prediction", "--prediction-field", help="jsonl/csv: prediction field")


def _run(task: str, file: Path, fmt: str, reference: Path | None, text_tokenizer: str | None, convention: str,
         as_json: bool, workers: int | None, bootstrap: int | None, columns, fcd: bool = False,
         bertscore_model: str | None = None) -> None:
    from contextlib import nullcontext

    from rich.console import Console

    from molbridge.eval.engine import score_file

    status = nullcontext() if as_json else Console(stderr=True).status(
        f"scoring {file} ({task}{', FCD' if fcd else ''}) …")
    with user_errors(), status:
        report, pairs = score_file(
            file, task, fmt=fmt, reference=reference, convention=convention, text_tokenizer=text_tokenizer,
            bertscore_model=bertscore_model, columns=columns, fcd=fcd, workers=workers, bootstrap=bootstrap,
        )
    if as_json:
        out = report.to_dict()
        out["file"] = str(file)
        out["issues"] = pairs.issues
        typer.echo(json.dumps(out, indent=2, allow_nan=True))
        return
    from molbridge.cli.render import print_report

    print_report(report, str(file))
    for issue in pairs.issues[:20]:
        typer.echo(f"issue: {issue}")
    if len(pairs.issues) > 20:
        typer.echo(f"... and {len(pairs.issues) - 20} more issues (see --json)")


def _columns(id_field: str, reference_field: str, prediction_field: str):
    from molbridge.eval.predictions import ColumnMap

    return ColumnMap(id=id_field, reference=reference_field, prediction=prediction_field)


def _score_command(task: Task):
    """The `molbridge eval TASK` command of one registered task with a MolT5 prediction-file layout."""

    def score(
        file: Path = typer.Argument(..., help="prediction file"),
        fmt: str = FormatOpt, reference: Path | None = ReferenceOpt, text_tokenizer: str | None = TokenizerOpt,
        convention: str = ConventionOpt, as_json: bool = JsonOpt, workers: int | None = WorkersOpt,
        bootstrap: int | None = BootstrapOpt, id_field: str = IdOpt, reference_field: str = RefFieldOpt,
        prediction_field: str = PredFieldOpt,
        fcd: bool = typer.Option(False, "--fcd", help="also compute FCD (fcd package ChemNet; molecule answers)"),
        bertscore_model: str | None = BertScoreOpt,
    ) -> None:
        _run(task.name, file, fmt, reference, text_tokenizer, convention, as_json, workers, bootstrap,
             _columns(id_field, reference_field, prediction_field), fcd=fcd, bertscore_model=bertscore_model)

    score.__doc__ = f"{task.description[:1].upper()}{task.description[1:]}: {METRICS[task.family]}."
    return score


METRICS = {"text": "BLEU-2/4, ROUGE-1/2/L, METEOR (+ BERTScore)",
           "molecule": "BLEU, exact match, Levenshtein, validity, MACCS/RDK/Morgan FTS (+ FCD)"}
for _task in TASKS:
    if _task.molt5:
        app.command(_task.name)(_score_command(_task))


@app.command("answers")
def answers(
    dataset: Path = typer.Argument(..., help="a `molbridge data build` output directory"),
    file: Path = typer.Argument(..., help="replies: JSONL (.jsonl/.json) or CSV with an id and a prediction field"),
    split: str = typer.Option("test", "--split", help="the split the replies answer"),
    id_field: str = IdOpt, prediction_field: str = PredFieldOpt,
    convention: str | None = typer.Option(None, "--convention", help="text answers' convention (default: each "
                                          "task's)"),
    bertscore_model: str | None = BertScoreOpt, as_json: bool = JsonOpt,
) -> None:
    """Score any model's replies to a built dataset's split, every task by its own answer kind and scorer family
    (molecules, numbers, EC numbers, domain sets, entities and relations, choices, text); records without a reply
    count as invalid."""
    from molbridge.apps.scoring import score_reply_file
    from molbridge.data.build.config import import_dataset_plugins
    from molbridge.eval.scorers import TextScoring

    with user_errors():
        import_dataset_plugins(dataset)
        reports, issues = score_reply_file(dataset, split, file, _columns(id_field, "reference", prediction_field),
                                           TextScoring(convention=convention, bertscore_model=bertscore_model))
    if as_json:
        typer.echo(json.dumps({"file": str(file), "split": split, "groups": {g: r.to_dict() for g, r in
                                                                              reports.items()}, "issues": issues},
                              indent=2, allow_nan=True))
        return
    for group, report in reports.items():
        typer.echo(f"{group} (n={report.n}): " + json.dumps({k: round(v, 4) for k, v in report.values().items()}))
    for issue in issues:
        typer.echo(f"issue: {issue}")


@app.command("conventions")
def conventions(as_json: bool = JsonOpt) -> None:
    """List the named scoring conventions and their settings."""
    from molbridge.eval.conventions import CONVENTIONS

    data = {name: c.model_dump() for name, c in CONVENTIONS.items()}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for name, settings in data.items():
        typer.echo(name + ": " + ", ".join(f"{k}={v}" for k, v in settings.items() if k != "name"))

"""Every group of predictions (a task, or a task's property) scored by its task's scorer family, with intervals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from molbridge.apps.predict import Prediction, predict
from molbridge.errors import FileFormatError
from molbridge.eval.predictions import ColumnMap, read_replies
from molbridge.eval.results import MetricReport
from molbridge.eval.scorers import Answers, TextScoring, score_answers
from molbridge.progress import ProgressFn, report
from molbridge.tasks import task_for
from molbridge.tasks.answers import answer_kind
from molbridge.train.examples import Example, example


def score_predictions(predictions: Sequence[Prediction], text: TextScoring = TextScoring(),
                      progress: ProgressFn | None = None, stage: str = "score") -> dict[str, MetricReport]:
    """group → report, groups in first-seen order; `text` changes how text answers are scored. Progress:
    `stage`, groups scored."""
    groups: dict[str, list[Prediction]] = defaultdict(list)
    for p in predictions:
        groups[p.group].append(p)
    reports = {}
    for done, (group, rows) in enumerate(groups.items(), 1):
        references = [r.reference for r in rows]
        answers = Answers(task_for(rows[0].task, references), group, references, [r.prediction for r in rows],
                          [r.valid for r in rows], [r.meta for r in rows])
        reports[group] = score_answers(answers, text)
        report(progress, stage, done, len(groups), unit="groups", note=group)
    return reports


def score_reply_file(dataset: str | Path, split: str, path: str | Path, columns: ColumnMap = ColumnMap(),
                     text: TextScoring = TextScoring()) -> tuple[dict[str, MetricReport], list[str]]:
    """Any model's replies to a built dataset's split, scored as `predict` scores molbridge's own.

    Replies join records by id; each is read by its task's answer kind (a whole chat reply is fine) and
    scored by its task's family, per group. A record without a reply is answered with nothing (invalid,
    never dropped); a reply naming no record of the split is listed in the issues and not scored.
    """
    from molbridge.data.parquet_io import read_split

    records = read_split(dataset, split)
    if not records:
        raise FileFormatError(str(dataset), None, f"no {split!r} records: not a `molbridge data build` output, or "
                                                  "that split is empty")
    replies, issues = read_replies(path, columns)
    by_task: dict[str, list] = defaultdict(list)
    for record in records:
        by_task[record.task].append(record)
    # an imported task's answer kind is read off its answers (yes/no), as training and prediction read it
    tasks = {name: task_for(name, [r.output for r in group]) for name, group in by_task.items()}
    rows = []
    for record in records:
        e = example(record, tasks[record.task], None)
        kind, reply = answer_kind(e.kind), replies.get(e.id) or ""
        answer = kind.extract(reply)
        rows.append(Prediction(e.id, e.task, e.kind, e.group, e.answer, answer, reply, kind.valid(answer), 1,
                               dict(e.meta)))
    asked = {row.id for row in rows}
    unknown = [key for key in replies if key not in asked]
    missing = sum(1 for row in rows if row.id not in replies)
    if unknown:
        issues.append(f"{len(unknown)} replies name no record of {split} and are not scored, e.g. {unknown[:3]}")
    if missing:
        issues.append(f"{missing} records of {split} have no reply; scored as invalid")
    return score_predictions(rows, text), issues


def generation_scores(model, tokenizer, examples: Sequence[Example]) -> dict[str, dict[str, float]]:
    """Engine scores of greedy answers to `examples` by group: what training reports at each evaluation."""
    return {group: scored.values() for group, scored in score_predictions(predict(model, tokenizer, examples)).items()}

"""Every group of predictions (a task, or a task's property) scored by its task's scorer family, with intervals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from molbridge.apps.predict import Prediction, predict
from molbridge.eval.results import MetricReport
from molbridge.eval.scorers import Answers, TextScoring, score_answers
from molbridge.tasks import task_for
from molbridge.train.examples import Example


def score_predictions(predictions: Sequence[Prediction], text: TextScoring = TextScoring()
                      ) -> dict[str, MetricReport]:
    """group → report, groups in first-seen order; `text` changes how text answers are scored."""
    groups: dict[str, list[Prediction]] = defaultdict(list)
    for p in predictions:
        groups[p.group].append(p)
    reports = {}
    for group, rows in groups.items():
        references = [r.reference for r in rows]
        answers = Answers(task_for(rows[0].task, references), group, references, [r.prediction for r in rows],
                          [r.valid for r in rows], [r.meta for r in rows])
        reports[group] = score_answers(answers, text)
    return reports


def generation_scores(model, tokenizer, examples: Sequence[Example]) -> dict[str, dict[str, float]]:
    """Engine scores of greedy answers to `examples` by group: what training reports at each evaluation."""
    return {group: report.values() for group, report in score_predictions(predict(model, tokenizer, examples)).items()}

"""The retrieval floor for any task: copy the answer of the most similar training record of the same group.

Each task names its copy retriever (`Task.copy`): molecule-input tasks find the nearest training
molecule by Morgan Tanimoto (MolReGPT's copy baseline, generalised), protein-input tasks the best
MMseqs2 hit, text-input tasks the best BM25 match of the input. The pool is the training records
of the same task and group (for a numeric task, the same property). Every test record gets a row:
one whose task declares no retriever, whose group has no training records, or whose query finds
nothing is answered with nothing and scored invalid, so the baseline is scored over the same N as
the model it is compared with.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from molbridge.apps.predict import Prediction
from molbridge.errors import ConventionError
from molbridge.progress import ProgressFn, report
from molbridge.records import Record
from molbridge.retrieval.baselines import copied_answers, retrieve
from molbridge.tasks import task_for
from molbridge.tasks.answers import answer_kind

log = logging.getLogger(__name__)


def copy_answers(train: Sequence[Record], test: Sequence[Record], progress: ProgressFn | None = None
                 ) -> dict[str, str]:
    """Test record id → the answer copied from its nearest training record of the same task and group
    ("" where there is no retriever, no pool or no neighbour). Progress: stage "copy baseline", groups done."""
    pools: dict[str, list[Record]] = defaultdict(list)
    for record in train:
        pools[task_for(record.task).group(record)].append(record)
    queries: dict[str, list[Record]] = defaultdict(list)
    for record in test:
        queries[task_for(record.task).group(record)].append(record)
    copied = {record.id: "" for record in test}
    for done, (group, asked) in enumerate(queries.items(), 1):
        report(progress, "copy baseline", done, len(queries), unit="groups", note=group)
        task, pool = task_for(asked[0].task), pools.get(group, [])
        if task.copy is None or not pool:
            continue
        try:
            found = retrieve(task, task.copy, pool, asked, k=1)
        except ConventionError as err:  # a registration whose retriever does not fit the task: its rows stay empty
            log.warning("no copy baseline for %s: %s", group, err)
            continue
        copied.update(zip((r.id for r in asked), copied_answers(task, found, pool, asked), strict=True))
    return copied


def baseline_predictions(predictions: Sequence[Prediction], train: Sequence[Record],
                         test: Sequence[Record], progress: ProgressFn | None = None) -> list[Prediction]:
    """The copy baseline's answer for every predicted test record, in the same rows (scored the same way)."""
    by_id = {r.id: r for r in test}
    copied = copy_answers(train, [by_id[p.id] for p in predictions], progress)
    rows = []
    for p in predictions:
        kind = answer_kind(p.kind)
        answer = kind.extract(copied[p.id])
        rows.append(replace(p, prediction=answer, raw=copied[p.id], valid=kind.valid(answer), attempts=1))
    return rows

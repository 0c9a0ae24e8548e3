"""Retrieval-augmented prompts for every task of a built dataset, and decoding lengths fitted to its answers.

Why: the copy baseline answers each record with the answer of its nearest training record; a model
shown the `k` nearest training records of the same scored group with their answers (ICMA's and
MolReGPT's idea, for any task) starts from that policy and can improve on it, e.g. by combining
several neighbours' values. A record's pool is the training split's records of its group (a numeric
task: the same property), searched by the task's copy retriever (or the one the config names); a
training record is never its own neighbour. A group without a pool or a retriever is prompted plainly.

The same training records say how long an answer of each group runs, so generation stops at a budget
fitted to them (`decoding_lengths`) rather than at the answer kind's worst case.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from molbridge.records import Record
from molbridge.tasks import Task, task_for
from molbridge.train.examples import (
    Example,
    ExampleBuilder,
    example_id,
    plain_examples,
    retrieval_examples,
    split_records,
)

log = logging.getLogger(__name__)

LENGTH_QUANTILE = 99  # the answer length (tokens) a decoding budget covers, in percent of a group's training answers
LENGTH_MARGIN = 1.25  # ... times this, plus LENGTH_SLACK tokens: room for a longer answer than any seen
LENGTH_SLACK = 4


class TrainingPool:
    """The training records of a built dataset, by scored group: what neighbours are retrieved from."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.by_group: dict[str, list[Record]] = defaultdict(list)
        for record in records:
            self.by_group[task_for(record.task).group(record)].append(record)

    @classmethod
    def read(cls, dataset: str | Path, split: str, tasks: Sequence[str] = ()) -> TrainingPool:
        return cls(r for r in split_records(dataset, split) if not tasks or r.task in tasks)

    def builder(self, k: int, max_length: int, retrievers: Mapping[str, str] | None = None,
                answer_budgets: Mapping[str, int] | None = None) -> ExampleBuilder:
        """Examples with `k` neighbours each. `answer_budgets` (group → tokens) marks held-out examples: the prompt
        leaves that room for the answer and one over budget stays, without a prompt; without it, a training
        example leaves room for its own answer and one over budget is left out."""

        def build(records: Sequence[Record], task: Task, tokenizer) -> tuple[list[Example], list[str]]:
            by_group: dict[str, list[Record]] = defaultdict(list)
            for record in records:
                by_group[task.group(record)].append(record)
            made: dict[str, Example] = {}
            problems: list[str] = []
            for group, members in by_group.items():
                retriever = (retrievers or {}).get(task.name) or task.copy
                pool = self.by_group.get(group, [])
                if retriever is None or not pool:
                    log.warning("%s: %s; prompted without neighbours", group,
                                "no training records" if not pool else "the task names no retriever")
                    found = plain_examples(members, task, tokenizer)
                else:
                    budget = answer_budgets.get(group, task.decoding_length) if answer_budgets is not None else None
                    found, missed = retrieval_examples(members, task, pool, tokenizer, k=k, retriever=retriever,
                                                       max_length=max_length, answer_budget=budget)
                    problems += missed
                made.update((e.id, e) for e in found)
            return [made[e_id] for e_id in (example_id(r, task) for r in records) if e_id in made], problems

        return build

    def decoding_lengths(self, tokenizer) -> dict[str, int]:
        """Group → new tokens to allow: the 99th percentile of its training answers' token counts, × 1.25 + 4,
        never over the task's own budget (`Task.decoding_length`)."""
        lengths = {}
        for group, records in self.by_group.items():
            task = task_for(records[0].task, [r.output for r in records])
            counts = [len(ids) for ids in tokenizer([task.target.get(r) for r in records],
                                                    add_special_tokens=False)["input_ids"]]
            fitted = math.ceil(float(np.percentile(counts, LENGTH_QUANTILE)) * LENGTH_MARGIN) + LENGTH_SLACK
            lengths[group] = min(fitted, task.decoding_length)
        return lengths

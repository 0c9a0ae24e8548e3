"""Training and evaluation examples: a model-ready prompt, the answer to learn, and how it is scored.

Every example comes from a record and a task (`molbridge.tasks`): the task says what the request
and the answer are, what kind of answer it is and how it is grouped for scoring. Three sources,
one shape:
- `instructions`: records of a `molbridge data build` output, each under its own task;
- `sft`: ChEBI-20 rows under the tasks that read its columns (`mol2text`, `text2mol`), the bare request
  (the ablation);
- `icma`: the same with each row's nearest training rows in the prompt (itself excluded), in the
  task's template under the token budget (`retrieval.icl.icl_prompts`), so the model learns to read
  retrieved context (in-context molecule tuning).
The prompt is the exact model input (chat template applied where the model has one); the answer
is learned and generated after it. The one over-budget policy: a training example that cannot fit
is left out and named; a held-out one keeps its place with no prompt (None), is answered with
nothing, scored as invalid and named (`within_budget`, and the ICMA prompt budget). Each is named
once, where it lost its prompt, and training's left-out count holds training examples only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from molbridge.errors import MolbridgeError
from molbridge.models.causal_lm import chat_prompt
from molbridge.records import Record
from molbridge.tasks import TASKS, Task, task_for
from molbridge.train.config import DataSettings, TrainConfig, table_tasks

log = logging.getLogger(__name__)
T = TypeVar("T")


class ExampleError(MolbridgeError, ValueError):
    """Examples cannot be built (an empty dataset or split, an unknown task)."""


@dataclass(frozen=True)
class Example:
    id: str
    task: str
    kind: str  # the task's answer kind: text | smiles | selfies | inchi | protein | number | yes_no
    prompt: str | None  # the model input, chat template applied; None: over the length budget (answered empty)
    answer: str
    meta: dict = field(default_factory=dict)  # property / unit / value for numeric answers; stored texts
    group: str = ""  # what scores are reported by: the task, or task:property
    source: str = ""  # the task's input as written (reports show it; the prompt may wrap it)
    max_new_tokens: int | None = None  # decoding budget (None: the answer kind's)
    item: Any = field(default=None, compare=False, repr=False)  # an encoder's input (multimodal models), or None


def example(record: Record, task: Task, prompt: str | None) -> Example:
    """The example of `record` under `task` with `prompt`; MolT5-layout tasks also keep the stored texts."""
    meta = dict(record.meta.extra)
    if task.molt5:
        meta |= {"source_stored": task.source.get(record, stored=True),
                 "target_stored": task.target.get(record, stored=True)}
    return Example(example_id(record, task), task.name, task.answer.name, prompt, task.target.get(record), meta,
                   task.group(record), task.source.get(record), task.decoding_length)


def example_id(record: Record, task: Task) -> str:
    """An example's id: its record's, with the task added where the record was built for another task."""
    return record.id if record.task == task.name else f"{record.id}:{task.name}"


def within_budget(examples: Sequence[Example], tokenizer, max_length: int) -> tuple[list[Example], list[str]]:
    """Held-out examples as they can be asked: one whose prompt and answer budget exceed `max_length` keeps its
    place without a prompt (answered with nothing, scored invalid), and a problem names it."""
    from molbridge.models.causal_lm import encode_prompt

    kept, problems = [], []
    for e in examples:
        if e.prompt is not None:
            need = len(encode_prompt(tokenizer, e.prompt)) + (e.max_new_tokens or 0)
            if need > max_length:
                problems.append(f"{e.id}: prompt and answer need {need} tokens, over max_length {max_length}; "
                                "answered empty, scored invalid")
                e = replace(e, prompt=None)
        kept.append(e)
    return kept, problems


def plain_examples(records: Sequence[Record], task: Task, tokenizer) -> list[Example]:
    """Each record's request alone, in the model's chat template."""
    return [example(r, task, chat_prompt(tokenizer, task.request(r))) for r in records]


# (records, task, tokenizer) → (examples, problems): how a built dataset's records become examples
ExampleBuilder = Callable[[Sequence[Record], Task, Any], tuple[list[Example], list[str]]]


def plain_builder(records: Sequence[Record], task: Task, tokenizer) -> tuple[list[Example], list[str]]:
    return plain_examples(records, task, tokenizer), []


def retrieval_examples(records: Sequence[Record], task: Task, pool: Sequence[Record], tokenizer, *, k: int,
                       retriever: str, max_length: int, answer_budget: int | None = None,
                       exclude_self: bool = True) -> tuple[list[Example], list[str]]:
    """Each record with its `k` nearest `pool` records in the task's template, and a problem per record over budget.

    A prompt gets `max_length` minus the answer's tokens (training) or minus `answer_budget`
    (evaluation, where the answer is not known): as many examples as fit, least similar dropped first.
    Over budget, a training record is left out; an evaluation record stays with no prompt.
    """
    from molbridge.models.causal_lm import count_tokens
    from molbridge.retrieval.baselines import Retrieved, retrieve
    from molbridge.retrieval.icl import IclSettings, icl_prompts

    found = retrieve(task, retriever, pool, records, k=k, exclude_self=exclude_self)
    examples, problems = [], []
    for row, record in enumerate(records):
        budget = max_length - (answer_budget or count_tokens(tokenizer, task.target.get(record))) - 1
        settings = IclSettings(k=k, style="chat", max_prompt_tokens=max(budget, 1) + 1, max_new_tokens=1)
        one = Retrieved(found.indices[row:row + 1], found.scores[row:row + 1])
        (prompt,), _, issues = icl_prompts(task, pool, [record], one, settings, tokenizer)
        if prompt is None:
            if answer_budget is None:
                problems.append(f"{issues[0]}; left out of training")
                continue
            problems.append(f"{issues[0]}; answered empty, scored invalid")
        examples.append(example(record, task, prompt))
    return examples, problems


def instruction_examples(dataset: str | Path, split: str, tasks: Sequence[str], tokenizer,
                         limit_per_task: int | None = None, build: ExampleBuilder = plain_builder,
                         problems: list[str] | None = None,
                         choose: Callable[[list[Record]], list[Record]] | None = None) -> list[Example]:
    """Examples of one split of a built dataset, at most `limit_per_task` per task; `build` makes them from each
    task's records (and adds what it could not make to `problems`). `choose` picks the records to make examples
    of (from all of them, grouped by task in file order) before any prompt is built, and their order; default:
    all, by task."""
    by_task: dict[str, list[Record]] = defaultdict(list)
    for record in split_records(dataset, split):
        if tasks and record.task not in tasks:
            continue
        if limit_per_task is None or len(by_task[record.task]) < limit_per_task:
            by_task[record.task].append(record)
    missing = sorted(set(tasks) - set(by_task))
    if missing:
        raise ExampleError(f"{dataset}: split {split!r} has no records of task(s) {', '.join(missing)}")
    records = [r for members in by_task.values() for r in members]
    chosen = choose(records) if choose is not None else records
    wanted: dict[str, list[Record]] = defaultdict(list)
    for record in chosen:
        wanted[record.task].append(record)
    made: dict[str, Example] = {}
    for name, members in wanted.items():
        task = task_for(name, [r.output for r in by_task[name]])
        found, missed = build(members, task, tokenizer)
        made.update((e.id, e) for e in found)
        if problems is not None:
            problems += missed
    ids = (example_id(r, task_for(r.task)) for r in chosen)
    return [made[i] for i in ids if i in made]


def split_records(dataset: str | Path, split: str) -> Iterator[Record]:
    """The records of one split of a built dataset directory (its `data/{split}-*.parquet` shards) or of one
    Parquet file (its rows of that split), in file order; the dataset's task plugins imported first."""
    from molbridge.data.build.config import import_dataset_plugins
    from molbridge.data.parquet_io import read_shard

    root = Path(dataset)
    import_dataset_plugins(root)  # tasks a plugin registered for the build are needed to prompt and score
    shards = [root] if root.is_file() else sorted((root / "data").glob(f"{split}-*.parquet"))
    if not shards:
        raise ExampleError(f"{root}: no {split!r} Parquet shards (expected {root}/data/{split}-*.parquet)")
    for shard in shards:
        yield from (r for r in read_shard(shard) if not root.is_file() or r.meta.split == split)


def chebi20_examples(records: Sequence[Record], data: DataSettings, tokenizer, *, pool: Sequence[Record] | None,
                     max_length: int, answer_budget: int | None = None,
                     exclude_self: bool = True) -> tuple[list[Example], list[str]]:
    """ChEBI-20 rows under each configured task: bare requests (no `pool`) or ICMA prompts over `pool`."""
    examples, problems = [], []
    for task in (TASKS.get(name) for name in table_tasks(data)):
        if pool is None:
            examples += plain_examples(records, task, tokenizer)
            continue
        retriever = data.retrievers.get(task.name) or task.copy
        if retriever is None:
            raise ExampleError(f"task {task.name!r} has no copy retriever: name one in data.retrievers")
        found, missed = retrieval_examples(records, task, pool, tokenizer, k=data.k, retriever=retriever,
                                           max_length=max_length, answer_budget=answer_budget,
                                           exclude_self=exclude_self)
        examples += found
        problems += missed
    return examples, problems


def spread(items: Sequence[T], n: int, group: Callable[[T], str] | None = None) -> list[T]:
    """`n` items (examples, or records by their task's group) taken round-robin over their groups (every task
    represented), in a fixed order."""
    by_group: dict[str, list[T]] = defaultdict(list)
    for item in items:
        by_group[(group or _example_group)(item)].append(item)
    chosen: list[T] = []
    queues = [list(v) for v in by_group.values()]
    while len(chosen) < n and any(queues):
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(queue.pop(0))
    return chosen


def sample_per_group(items: Sequence[T], n: int, seed: int, group: Callable[[T], str] | None = None) -> list[T]:
    """A seeded sample of at most `n` items of each group (task, or task:property), kept in input order."""
    import numpy as np

    by_group: dict[str, list[int]] = defaultdict(list)
    for position, item in enumerate(items):
        by_group[(group or _example_group)(item)].append(position)
    rng = np.random.default_rng(seed)
    chosen = sorted(int(i) for positions in by_group.values()
                    for i in (positions if len(positions) <= n else rng.choice(positions, size=n, replace=False)))
    return [items[i] for i in chosen]


def _example_group(example: Any) -> str:
    return example.group


def record_group(record: Record) -> str:
    """The scored group of a record under its own task."""
    return task_for(record.task).group(record)


def balanced(examples: Sequence[Example], power: float, seed: int) -> list[Example]:
    """The examples re-drawn so each group's share is ∝ N^power (3D-MoLM's stage 3: 0.25), the total kept.

    A group above its share keeps a seeded subset, one below it is repeated (whole passes, then a seeded
    subset), so small property families are seen more often and large ones less; the order is by group then
    draw, which the batch plan shuffles anyway."""
    import numpy as np

    groups: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        groups[e.group].append(e)
    weights = {g: len(v) ** power for g, v in groups.items()}
    total, scale = len(examples), sum(weights.values())
    rng = np.random.default_rng(seed)
    drawn: list[Example] = []
    for group, members in groups.items():
        want = max(1, round(total * weights[group] / scale))
        whole, rest = divmod(want, len(members))
        drawn += list(members) * whole + [members[i] for i in sorted(rng.choice(len(members), rest, replace=False))]
    return drawn


def _chebi20(path: str, n: int | None, seed: int) -> list[Record]:
    from molbridge.data.formats.chebi20_tables import records_from_chebi20
    from molbridge.retrieval.icl import fixed_subset

    return fixed_subset(records_from_chebi20(path), n, seed=seed)


class Prepared(NamedTuple):
    """A config's examples and what could not be made of its records, each named once."""

    train: list[Example]
    evaluation: list[Example]
    problems: list[str]  # training records left out
    held_out_problems: list[str]  # held-out records answered empty (no prompt), or why there are none


def _answerable(e: Example) -> bool:
    """A training example has a prompt or an encoder input; a builder keeps prompt-less ones only so that
    held-out records keep their places (their problem is already named)."""
    return e.prompt is not None or e.item is not None


def config_examples(config: TrainConfig, tokenizer, build: ExampleBuilder = plain_builder) -> Prepared:
    """A config's training and evaluation examples and the problems met; raises ExampleError when there is
    nothing to train on. `build` makes a built dataset's examples (multimodal ones carry encoder inputs)."""
    data = config.data
    problems: list[str] = []
    held_problems: list[str] = []
    if config.task == "instructions":
        assert data.dataset is not None  # TrainConfig's validator requires it for task 'instructions'
        held_build = build
        if data.neighbours:
            build, held_build = _neighbour_builders(config, tokenizer)
        train = instruction_examples(data.dataset, data.train_split, data.tasks, tokenizer, data.limit_per_task,
                                     build, problems)
        train = [e for e in train if _answerable(e)]
        if data.group_balance is not None:
            train = balanced(train, data.group_balance, config.seed)
        try:
            held = instruction_examples(data.dataset, data.eval_split, data.tasks, tokenizer, build=held_build,
                                        problems=held_problems,
                                        choose=lambda records: spread(records, data.eval_examples, record_group))
        except ExampleError as err:
            held_problems.append(f"no evaluation examples: {err}")
            held = []
        evaluation, over = within_budget(held, tokenizer, config.max_length)
        held_problems += over
    else:
        assert data.train is not None  # TrainConfig's validator requires it for tasks 'sft' and 'icma'
        records = _chebi20(data.train, data.limit, config.seed)
        held_records = _chebi20(data.eval, data.eval_examples, config.seed) if data.eval and data.eval_examples else []
        pool = records if config.task == "icma" else None
        train, problems = chebi20_examples(records, data, tokenizer, pool=pool, max_length=config.max_length)
        evaluation, held_problems = chebi20_examples(
            held_records, data, tokenizer, pool=pool, max_length=config.max_length,
            answer_budget=config.max_length // 2, exclude_self=False) if held_records else ([], [])
    if not train:
        raise ExampleError("the training set is empty: no records match the config's data settings")
    return Prepared(train, evaluation, problems, held_problems)


def _neighbour_builders(config: TrainConfig, tokenizer) -> tuple[ExampleBuilder, ExampleBuilder]:
    """The builders of retrieval-augmented training and held-out examples (`train.neighbours`): the held-out one
    leaves each group's fitted decoding length for the answer."""
    from molbridge.train.neighbours import TrainingPool

    data = config.data
    assert data.dataset is not None  # TrainConfig's validator requires it for task 'instructions'
    pool = TrainingPool.read(data.dataset, data.train_split, data.tasks)
    return (pool.builder(data.neighbours, config.max_length, data.retrievers),
            pool.builder(data.neighbours, config.max_length, data.retrievers, pool.decoding_lengths(tokenizer)))


def prediction_examples(config: TrainConfig, tokenizer, *, split: str = "test", test: str | None = None,
                        per_task: int | None = None, build: ExampleBuilder = plain_builder) -> list[Example]:
    """Held-out examples prompted exactly as in training: a split of the dataset, or a ChEBI-20 file
    (ICMA neighbours retrieved from the training file); at most `per_task` per task (per property for numeric
    tasks), a seeded sample. A dataset's examples are decoded up to the length its training answers of the same
    group fit in (`TrainingPool.decoding_lengths`)."""
    data = config.data
    if config.task == "instructions":
        assert data.dataset is not None  # TrainConfig's validator requires it for task 'instructions'
        from molbridge.train.neighbours import TrainingPool

        training = TrainingPool.read(data.dataset, data.train_split, data.tasks)
        lengths = training.decoding_lengths(tokenizer)
        if data.neighbours:
            build = training.builder(data.neighbours, config.max_length, data.retrievers, lengths)
        def sampled(records: list[Record]) -> list[Record]:
            return records if per_task is None else sample_per_group(records, per_task, config.seed, record_group)

        examples = instruction_examples(data.dataset, split, data.tasks, tokenizer, build=build, choose=sampled)
        examples = [replace(e, max_new_tokens=lengths.get(e.group, e.max_new_tokens)) for e in examples]
    else:
        path = test or data.eval
        if not path:
            raise ExampleError("no ChEBI-20 test file: pass one (the run's config has no data.eval)")
        assert data.train is not None  # TrainConfig's validator requires it for tasks 'sft' and 'icma'
        pool = _chebi20(data.train, data.limit, config.seed) if config.task == "icma" else None
        examples = chebi20_examples(_chebi20(path, per_task, config.seed), data, tokenizer, pool=pool,
                                    max_length=config.max_length, answer_budget=config.max_length // 2,
                                    exclude_self=False)[0]
    if not examples:
        raise ExampleError("no examples to predict")
    return examples


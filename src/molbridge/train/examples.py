"""Training and evaluation examples: a model-ready prompt, the answer to learn, and how to score it.

Three sources, one shape:
- `instructions`: records of a `molbridge data build` output (instruction, input → output);
- `sft`: ChEBI-20 pairs with ICMA's one-line request and no examples (the ablation);
- `icma`: the same pairs with each record's nearest training neighbours in the prompt (itself
  excluded), in ICMA's template under the token budget (`retrieval.icl.build_prompts`), so the
  model learns to read retrieved context (in-context molecule tuning).
The prompt is the exact model input (chat template applied where the model has one); the answer
is learned and generated after it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from molbridge.data.sources.chebi20 import ChEBI20Record, read_chebi20
from molbridge.errors import MolbridgeError
from molbridge.models.causal_lm import chat_prompt
from molbridge.retrieval.prompts import TEMPLATES
from molbridge.train.config import DataSettings, TrainConfig

# task → what its answer is: how predictions are extracted and scored
ANSWER_KIND = {
    "molecule_description": "text", "protein_function": "text", "protein_description": "text", "smiles2iupac": "text",
    "mol2text": "text", "molecule_design": "smiles", "iupac2smiles": "smiles", "selfies2smiles": "smiles",
    "text2mol": "smiles", "smiles2selfies": "selfies", "smiles2inchi": "inchi", "protein_design": "protein",
    "property_prediction": "number", "computed_property": "number",
}
_YES_NO = {"yes", "no"}
DEFAULT_RETRIEVERS = {"mol2text": "morgan", "text2mol": "bm25"}


class ExampleError(MolbridgeError, ValueError):
    """Examples cannot be built (an empty dataset or split, an unknown task)."""


@dataclass(frozen=True)
class Example:
    id: str
    task: str
    kind: str  # text | smiles | selfies | inchi | protein | number | yes_no
    prompt: str  # the model input, chat template applied
    answer: str
    meta: dict = field(default_factory=dict)  # property / unit / value for numeric answers; source for rows
    group: str = ""  # what scores are reported by: the task, or task:property for numeric answers
    source: str = ""  # the record's input as written (reports show it; the prompt may wrap it)


def answer_kind(task: str, outputs: Sequence[str]) -> str:
    """The declared kind of a task; an undeclared (imported) task whose answers are all yes/no is yes_no."""
    if task in ANSWER_KIND:
        return ANSWER_KIND[task]
    return "yes_no" if outputs and all(o.strip().lower().rstrip(".") in _YES_NO for o in outputs) else "text"


def instruction_examples(dataset: str | Path, split: str, tasks: Sequence[str], tokenizer,
                         limit_per_task: int | None = None) -> list[Example]:
    """Examples of one split of a built dataset, in file order, at most `limit_per_task` per task."""
    from molbridge.data.parquet_io import read_shard

    root = Path(dataset)
    shards = [root] if root.is_file() else sorted((root / "data").glob(f"{split}-*.parquet"))
    if not shards:
        raise ExampleError(f"{root}: no {split!r} Parquet shards (expected {root}/data/{split}-*.parquet)")
    by_task: dict[str, list] = defaultdict(list)
    for shard in shards:
        for record in read_shard(shard):
            if root.is_file() and record.meta.split != split:
                continue
            if tasks and record.task not in tasks:
                continue
            if limit_per_task is None or len(by_task[record.task]) < limit_per_task:
                by_task[record.task].append(record)
    missing = sorted(set(tasks) - set(by_task))
    if missing:
        raise ExampleError(f"{root}: split {split!r} has no records of task(s) {', '.join(missing)}")
    examples = []
    for task, records in by_task.items():
        kind = answer_kind(task, [r.output for r in records])
        for r in records:
            user = f"{r.instruction}\n\n{r.input}" if r.input else r.instruction
            extra = dict(r.meta.extra)
            group = f"{task}:{extra['property']}" if kind == "number" and "property" in extra else task
            examples.append(Example(r.id, task, kind, chat_prompt(tokenizer, user), r.output, extra, group, r.input))
    return examples


def chebi20_examples(records: Sequence[ChEBI20Record], directions: Sequence[str], tokenizer, *,
                     pool: Sequence[ChEBI20Record] | None = None, k: int = 2, retrievers: dict[str, str] | None = None,
                     max_length: int = 512, answer_budget: int | None = None,
                     exclude_self: bool = True) -> tuple[list[Example], list[str]]:
    """SFT examples (no `pool`) or ICMA examples (each record's `k` nearest `pool` records in its prompt),
    and a problem for each record whose prompt cannot fit.

    An ICMA prompt gets `max_length` minus the answer's tokens (training) or minus `answer_budget`
    (evaluation, where the answer is not known): as many examples as fit, least similar dropped first.
    A record whose request alone does not fit is left out of training; in evaluation it stays, with
    an empty prompt, so it is answered with nothing and scored as invalid rather than dropped.
    """
    examples, problems = [], []
    for task in directions:
        targets = [record.description if task == "mol2text" else record.smiles for record in records]
        if pool is None:
            prompts = [chat_prompt(tokenizer, TEMPLATES[task].ask.format(source=_source(task, r))) for r in records]
        else:
            budgets = [max_length - (answer_budget or len(tokenizer.encode(t, add_special_tokens=False)) + 1)
                       for t in targets]
            prompts = _icma_prompts(task, records, pool, tokenizer, k, (retrievers or DEFAULT_RETRIEVERS)[task], budgets,
                                    exclude_self, problems)
        for record, prompt, target in zip(records, prompts, targets, strict=True):
            if prompt is None and answer_budget is None:
                continue
            examples.append(Example(f"chebi20:{record.cid}:{task}", task, ANSWER_KIND[task], prompt or "", target,
                                    {"cid": record.cid, "source": _source(task, record),
                                     "smiles_raw": record.smiles_raw}, task, _source(task, record)))
    return examples, problems


def _source(task: str, record: ChEBI20Record) -> str:
    return record.smiles if task == "mol2text" else record.description


def _icma_prompts(task: str, records: Sequence[ChEBI20Record], pool: Sequence[ChEBI20Record], tokenizer, k: int,
                  retriever: str, budgets: Sequence[int], exclude_self: bool, problems: list[str]) -> list[str | None]:
    from molbridge.retrieval.baselines import Retrieved, retrieve
    from molbridge.retrieval.icl import IclSettings, build_prompts
    from molbridge.retrieval.prompts import PromptBudgetError

    found = retrieve(task, retriever, pool, records, k=k, exclude_self=exclude_self)
    prompts: list[str | None] = []
    for row, (record, budget) in enumerate(zip(records, budgets, strict=True)):
        one = Retrieved(found.indices[row:row + 1], found.scores[row:row + 1])
        try:
            settings = IclSettings(k=k, style="chat", max_prompt_tokens=max(budget, 1) + 1, max_new_tokens=1)
            prompts.append(build_prompts(task, pool, [record], one, settings, tokenizer)[0][0])
        except PromptBudgetError as err:
            problems.append(f"chebi20:{record.cid}:{task}: {err}; left out")
            prompts.append(None)
    return prompts


def directions_of(data: DataSettings) -> tuple[str, ...]:
    return ("mol2text", "text2mol") if data.direction == "both" else (data.direction,)


def spread(examples: Sequence[Example], n: int) -> list[Example]:
    """`n` examples taken round-robin over their groups (every task represented), in a fixed order."""
    by_group: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_group[example.group].append(example)
    chosen: list[Example] = []
    queues = [list(v) for v in by_group.values()]
    while len(chosen) < n and any(queues):
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(queue.pop(0))
    return chosen


def sample_per_group(examples: Sequence[Example], n: int, seed: int) -> list[Example]:
    """A seeded sample of at most `n` examples of each group (task, or task:property), kept in input order."""
    import numpy as np

    by_group: dict[str, list[int]] = defaultdict(list)
    for position, example in enumerate(examples):
        by_group[example.group].append(position)
    rng = np.random.default_rng(seed)
    chosen = sorted(int(i) for positions in by_group.values()
                    for i in (positions if len(positions) <= n else rng.choice(positions, size=n, replace=False)))
    return [examples[i] for i in chosen]


def config_examples(config: TrainConfig, tokenizer) -> tuple[list[Example], list[Example], list[str]]:
    """(training, evaluation) examples of a config and the problems met; raises ExampleError when there is
    nothing to train on."""
    data = config.data
    problems: list[str] = []
    if config.task == "instructions":
        train = instruction_examples(data.dataset, data.train_split, data.tasks, tokenizer, data.limit_per_task)
        try:
            held = instruction_examples(data.dataset, data.eval_split, data.tasks, tokenizer)
        except ExampleError as err:
            problems.append(f"no evaluation examples: {err}")
            held = []
        evaluation = spread(held, data.eval_examples)
    else:
        from molbridge.retrieval.icl import fixed_subset

        records = fixed_subset(read_chebi20(data.train), data.limit, seed=config.seed)
        held_records = fixed_subset(read_chebi20(data.eval), data.eval_examples, seed=config.seed) \
            if data.eval and data.eval_examples else []
        common = {"pool": records if config.task == "icma" else None, "k": data.k, "max_length": config.max_length,
                  "retrievers": {"mol2text": data.retriever_mol2text, "text2mol": data.retriever_text2mol}}
        train, problems = chebi20_examples(records, directions_of(data), tokenizer, **common)
        evaluation = chebi20_examples(held_records, directions_of(data), tokenizer, answer_budget=config.max_length // 2,
                                      exclude_self=False, **common)[0] if held_records else []
    if not train:
        raise ExampleError("the training set is empty: no records match the config's data settings")
    return train, evaluation, problems


def prediction_examples(config: TrainConfig, tokenizer, *, split: str = "test", test: str | None = None,
                        per_task: int | None = None) -> list[Example]:
    """Held-out examples prompted exactly as in training: a split of the dataset, or a ChEBI-20 file
    (ICMA neighbours retrieved from the training file); at most `per_task` per task (per property for numeric
    tasks), a seeded sample."""
    data = config.data
    if config.task == "instructions":
        examples = instruction_examples(data.dataset, split, data.tasks, tokenizer)
        if per_task is not None:
            examples = sample_per_group(examples, per_task, config.seed)
    else:
        from molbridge.retrieval.icl import fixed_subset

        path = test or data.eval
        if not path:
            raise ExampleError("no ChEBI-20 test file: pass one (the run's config has no data.eval)")
        records = fixed_subset(read_chebi20(path), per_task, seed=config.seed)
        pool = fixed_subset(read_chebi20(data.train), data.limit, seed=config.seed) if config.task == "icma" else None
        examples = chebi20_examples(records, directions_of(data), tokenizer, pool=pool, k=data.k,
                                    retrievers={"mol2text": data.retriever_mol2text,
                                                "text2mol": data.retriever_text2mol},
                                    max_length=config.max_length, answer_budget=config.max_length // 2,
                                    exclude_self=False)[0]
    if not examples:
        raise ExampleError("no examples to predict")
    return examples

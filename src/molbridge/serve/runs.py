"""A trained run loaded once at start, answering a task's inputs prompted exactly as in its training.

Each input becomes a record of the task (the input in the field the task reads, and in every text modality the
task consumes, so a multimodal run encodes the molecule or protein again), then an example by the run's own
example builder: the chat template of a text run, the soft tokens of a 3D-MoLM or SEPIT run, the retrieved
neighbours of an ICMA run. An instruction-prompted task takes the client's instruction, else the first one the
run's training split holds for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from molbridge.apps.predict import Prediction, predict
from molbridge.errors import MolbridgeError
from molbridge.records import Record, make_record
from molbridge.tasks.spec import MODALITY_FIELDS, Task
from molbridge.train.config import TrainConfig, TrainConfigError, table_tasks
from molbridge.train.examples import Example, ExampleBuilder


class GenerateRequestError(MolbridgeError, ValueError):
    """A generation request the run cannot answer (unknown task, missing instruction, input over budget)."""


@dataclass
class LoadedRun:
    name: str
    path: Path
    config: TrainConfig
    model: Any
    tokenizer: Any
    model_id: str
    build: ExampleBuilder
    tasks: dict[str, Task]
    instructions: dict[str, str] = field(default_factory=dict)  # task → the first training instruction
    pool: list[Record] | None = None  # an ICMA run's training records (neighbours come from them)

    def examples(self, task_name: str, inputs: list[str], instruction: str | None) -> list[Example]:
        """The run's examples of `inputs` under the task; a request it cannot prompt raises GenerateRequestError."""
        task = self.tasks.get(task_name)
        if task is None:
            raise GenerateRequestError(f"run {self.name!r} was not trained on task {task_name!r}; it answers "
                                       f"{', '.join(sorted(self.tasks))}")
        if task.prompt == "instruction":
            instruction = instruction or self.instructions.get(task_name)
            if not instruction:
                raise GenerateRequestError(f"task {task_name!r} is asked by an instruction: send one")
        records = [_record(f"request:{i}", task, text, instruction or "") for i, text in enumerate(inputs)]
        if self.pool is not None:
            from molbridge.train.examples import retrieval_examples

            retriever = self.config.data.retrievers.get(task.name) or task.copy
            if retriever is None:
                raise GenerateRequestError(f"task {task_name!r} has no retriever for its in-context examples")
            made, problems = retrieval_examples(records, task, self.pool, self.tokenizer, k=self.config.data.k,
                                                retriever=retriever, max_length=self.config.max_length,
                                                answer_budget=self.config.max_length // 2, exclude_self=False)
        else:
            made, problems = self.build(records, task, self.tokenizer)
        if problems or len(made) != len(records):
            raise GenerateRequestError("; ".join(problems) or "an input could not be prompted")
        return made

    def answer(self, examples: list[Example], *, max_new_tokens: int | None, batch_size: int) -> list[Prediction]:
        """Greedy answers in order (the run's answer kinds extract and check them)."""
        return predict(self.model, self.tokenizer, examples, max_new_tokens=max_new_tokens, batch_size=batch_size)


def _record(rid: str, task: Task, text: str, instruction: str) -> Record:
    modalities = {m: text for m in task.consumes if m in MODALITY_FIELDS}
    if task.source.name in MODALITY_FIELDS:
        modalities[task.source.name] = text
    source_input = text if task.source.name == "input" or task.prompt == "instruction" else ""
    return make_record(id=rid, task=task.name, instruction=instruction, input=source_input, modalities=modalities,
                       meta={"source": "serve"})


def load_run(name: str, path: Path) -> LoadedRun:
    """Load a finished `molbridge train` run; anything that keeps it from answering raises at start."""
    from molbridge.apps.trained_runs import is_stage1, load_for_prediction, run_config
    from molbridge.tasks import TASKS

    config = run_config(path)
    if is_stage1(path):
        raise TrainConfigError(f"{path}: a stage-1 run has no LLM to answer with (it is scored by retrieval)")
    model, tokenizer, model_id, build = load_for_prediction(path, config)
    data = config.data
    if config.task == "instructions":
        assert data.dataset is not None  # TrainConfig requires it for instruction runs
        instructions = _first_instructions(Path(data.dataset), data.train_split, data.tasks)
        names = data.tasks or sorted(instructions)
    else:
        instructions, names = {}, table_tasks(data)
    pool = None
    if config.task == "icma":
        from molbridge.data.formats.chebi20_tables import records_from_chebi20

        assert data.train is not None  # TrainConfig requires it for ChEBI-20 runs
        pool = records_from_chebi20(data.train)
    return LoadedRun(name, path, config, model, tokenizer, model_id, build, {n: TASKS.get(n) for n in names},
                     instructions, pool)


def _first_instructions(dataset: Path, split: str, tasks: list[str]) -> dict[str, str]:
    """Each task's first instruction in the training split (read shard by shard until every task has one)."""
    from molbridge.data.build.config import import_dataset_plugins
    from molbridge.data.parquet_io import read_shard

    import_dataset_plugins(dataset)
    found: dict[str, str] = {}
    shards = [dataset] if dataset.is_file() else sorted((dataset / "data").glob(f"{split}-*.parquet"))
    for shard in shards:
        for record in read_shard(shard):
            if (not tasks or record.task in tasks) and record.instruction:
                found.setdefault(record.task, record.instruction)
        if tasks and set(tasks) <= set(found):
            break
    return found

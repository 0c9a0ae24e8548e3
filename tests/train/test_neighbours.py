"""Retrieval-augmented prompts for every task of a built dataset, and decoding lengths fitted to its answers."""

from __future__ import annotations

import re

import pytest
import yaml
from transformers import AutoTokenizer

from molbridge.apps.copy_baseline import copy_answers
from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.parquet_io import read_split
from molbridge.models.causal_lm import count_tokens
from molbridge.tasks import task_for
from molbridge.train.config import TrainConfig, TrainConfigError, load_train_config
from molbridge.train.examples import config_examples, prediction_examples
from molbridge.train.neighbours import TrainingPool

HEADER = "As in the examples above:"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("neighbours")
    (tmp / "build.yaml").write_text(yaml.safe_dump({
        "name": "tiny", "chunk_size": 50,
        "sources": [{"kind": "qm9", "limit": 80, "tasks": ["property_prediction"]},
                    {"kind": "b3db", "limit": 80, "tasks": ["smiles2iupac", "iupac2smiles"]}],
        "split": {"method": "random", "fractions": [0.7, 0.1, 0.2]}}))
    build(load_config(tmp / "build.yaml"), tmp / "out", workers=1)
    return tmp / "out"


@pytest.fixture(scope="module")
def tokenizer(tiny_llama):
    return AutoTokenizer.from_pretrained(tiny_llama)


def config(dataset, neighbours: int, **data) -> TrainConfig:
    return TrainConfig(task="instructions", max_length=384,
                       data={"dataset": str(dataset), "neighbours": neighbours, **data})


def shown_answers(prompt: str) -> list[str]:
    return re.findall(r"^Answer: (.*)$", prompt, flags=re.MULTILINE)


def test_each_prompt_shows_its_group_s_nearest_answers_the_copied_one_last(dataset, tokenizer) -> None:
    examples = prediction_examples(config(dataset, 2), tokenizer, per_task=4)
    train, test = read_split(dataset, "train"), read_split(dataset, "test")
    copied = copy_answers(train, test)
    answers_by_group: dict[str, set[str]] = {}
    for r in train:
        answers_by_group.setdefault(task_for(r.task).group(r), set()).add(r.output)
    assert {e.group for e in examples} == {"property_prediction:homo", "property_prediction:lumo",
                                           "property_prediction:gap", "smiles2iupac", "iupac2smiles"}
    for e in examples:
        assert e.prompt is not None
        shown = shown_answers(e.prompt)
        if not shown:  # no neighbour found (BM25: no shared word), or none fits next to a long query
            assert HEADER not in e.prompt
            continue
        assert HEADER in e.prompt and set(shown) <= answers_by_group[e.group]  # the same group's (same property)
        assert shown[-1] == copied[e.id]  # the most similar, last: the copy baseline's answer
        assert e.prompt.rindex(e.source) > e.prompt.rindex("Answer: ")  # the query is asked last
    with_two = [e for e in examples if len(shown_answers(e.prompt)) == 2]
    assert {e.group for e in with_two} >= {"property_prediction:homo", "property_prediction:lumo",
                                            "property_prediction:gap", "smiles2iupac"}


def test_a_training_record_is_never_its_own_neighbour(dataset, tokenizer) -> None:
    prepared = config_examples(config(dataset, 3, limit_per_task=30, eval_examples=5), tokenizer)
    assert prepared.train and len(prepared.evaluation) == 5
    for e in prepared.train:
        assert f"Input: {e.source}\nAnswer: {e.answer}" not in e.prompt
        assert len(shown_answers(e.prompt)) <= 3  # as many as fit next to the query and its answer
    assert all(len(shown_answers(e.prompt)) == 3 for e in prepared.train if e.task == "property_prediction")


def test_plain_prompts_without_neighbours(dataset, tokenizer) -> None:
    examples = prediction_examples(config(dataset, 0), tokenizer, per_task=2)
    assert examples and all(HEADER not in e.prompt and not shown_answers(e.prompt) for e in examples)


def test_a_query_that_leaves_no_room_for_an_example_is_asked_plainly(dataset, tokenizer) -> None:
    tight = prediction_examples(config(dataset, 2).model_copy(update={"max_length": 70}), tokenizer, per_task=2)
    plain = {e.id: e.prompt for e in prediction_examples(config(dataset, 0), tokenizer, per_task=2)}
    asked_plainly = [e for e in tight if e.prompt is not None and not shown_answers(e.prompt)]
    assert asked_plainly and all(e.prompt == plain[e.id] for e in asked_plainly)


def test_decoding_lengths_fit_the_training_answers(dataset, tokenizer) -> None:
    pool = TrainingPool.read(dataset, "train")
    lengths = pool.decoding_lengths(tokenizer)
    for group, records in pool.by_group.items():
        task = task_for(records[0].task)
        longest = max(count_tokens(tokenizer, r.output) for r in records)
        assert lengths[group] <= task.decoding_length
        assert lengths[group] >= min(longest, task.decoding_length) * 0.9  # the 99th percentile × 1.25 + 4
    assert lengths["property_prediction:homo"] < task_for("property_prediction").decoding_length
    examples = prediction_examples(config(dataset, 0), tokenizer, per_task=2)
    assert all(e.max_new_tokens == lengths[e.group] for e in examples)


def test_a_group_without_training_records_is_prompted_plainly(dataset, tokenizer) -> None:
    records = [r for r in read_split(dataset, "test") if r.task == "smiles2iupac"][:3]
    made, problems = TrainingPool([]).builder(2, 384)(records, task_for("smiles2iupac"), tokenizer)
    assert [e.id for e in made] == [r.id for r in records] and not problems
    assert all(not shown_answers(e.prompt) for e in made)


@pytest.mark.parametrize(("settings", "message"), [
    ({"task": "sft", "data": {"train": "x.txt", "neighbours": 2}}, "data.neighbours is for task 'instructions'"),
    ({"data": {"dataset": "d", "retrievers": {"smiles2iupac": "bm25"}}}, "set data.neighbours"),
    ({"data": {"dataset": "d", "neighbours": 2}, "multimodal": {"stage": "llm"}}, "multimodal run"),
])
def test_neighbour_settings_that_cannot_work_are_refused(tmp_path, settings, message) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(settings))
    with pytest.raises(TrainConfigError, match=message):
        load_train_config(path)

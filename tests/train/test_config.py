"""Bad training configs fail with one clear error naming the key, before any model or data work starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from molbridge.train.config import TrainConfigError, load_train_config
from molbridge.train.examples import ExampleError
from molbridge.train.loop import train
from tests.tiny_models import chebi20_tiny


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_unknown_key_is_named(tmp_path, tiny_llama) -> None:
    path = write(tmp_path, {"model": str(tiny_llama), "task": "sft", "data": {"train": str(chebi20_tiny(tmp_path))},
                            "learning_rat": 1e-4})
    with pytest.raises(TrainConfigError, match="learning_rat: Extra inputs are not permitted"):
        load_train_config(path)


def test_unknown_nested_key_and_bad_value(tmp_path, tiny_llama) -> None:
    base = {"model": str(tiny_llama), "task": "sft", "data": {"train": str(chebi20_tiny(tmp_path))}}
    with pytest.raises(TrainConfigError, match=r"lora\.rank"):
        load_train_config(write(tmp_path, {**base, "lora": {"rank": 4}}))
    with pytest.raises(TrainConfigError, match="batch_size"):
        load_train_config(write(tmp_path, {**base, "batch_size": 0}))
    with pytest.raises(TrainConfigError, match="data.tasks: 'computed_property' does not read ChEBI-20 tables"):
        load_train_config(write(tmp_path, {**base, "data": {**base["data"], "tasks": ["computed_property"]}}))
    with pytest.raises(TrainConfigError, match="unknown task 'sideways'"):
        load_train_config(write(tmp_path, {**base, "data": {**base["data"], "tasks": ["sideways"]}}))
    with pytest.raises(TrainConfigError, match="data.retrievers: text2mol is not among the trained tasks"):
        load_train_config(write(tmp_path, {**base, "data": {**base["data"], "tasks": ["mol2text"],
                                                            "retrievers": {"text2mol": "minilm"}}}))


def test_missing_model_path(tmp_path) -> None:
    path = write(tmp_path, {"model": str(tmp_path / "no-such-model"), "task": "sft",
                            "data": {"train": str(chebi20_tiny(tmp_path))}})
    with pytest.raises(TrainConfigError, match="model: model directory .* not found"):
        load_train_config(path)


def test_missing_data_file_and_inconsistent_task(tmp_path, tiny_llama) -> None:
    with pytest.raises(TrainConfigError, match="data.train: .* does not exist"):
        load_train_config(write(tmp_path, {"model": str(tiny_llama), "task": "sft",
                                           "data": {"train": str(tmp_path / "absent.txt")}}))
    with pytest.raises(TrainConfigError, match="data.dataset is required"):
        load_train_config(write(tmp_path, {"model": str(tiny_llama), "task": "instructions"}))
    with pytest.raises(TrainConfigError, match="method is 'full'"):
        load_train_config(write(tmp_path, {"model": str(tiny_llama), "task": "sft", "method": "full",
                                           "lora": {"r": 4}, "data": {"train": str(chebi20_tiny(tmp_path))}}))


def test_set_override_and_out(tmp_path, tiny_llama) -> None:
    path = write(tmp_path, {"model": str(tiny_llama), "task": "sft", "data": {"train": str(chebi20_tiny(tmp_path))}})
    config = load_train_config(path, ["max_steps=7", "data.tasks=[text2mol]"], out=str(tmp_path / "run"))
    assert (config.max_steps, config.data.tasks, config.out) == (7, ["text2mol"], str(tmp_path / "run"))


def test_empty_dataset_fails_before_training(tmp_path, tiny_llama) -> None:
    empty = tmp_path / "empty-build"
    (empty / "data").mkdir(parents=True)
    path = write(tmp_path, {"model": str(tiny_llama), "task": "instructions", "data": {"dataset": str(empty)},
                            "out": str(tmp_path / "run")})
    with pytest.raises(ExampleError, match="no 'train' Parquet shards"):
        train(load_train_config(path))
    assert not (tmp_path / "run").exists()  # nothing was written


def test_empty_chebi20_file_fails_before_training(tmp_path, tiny_llama) -> None:
    header_only = chebi20_tiny(tmp_path, 0)
    path = write(tmp_path, {"model": str(tiny_llama), "task": "sft", "data": {"train": str(header_only)},
                            "out": str(tmp_path / "run")})
    with pytest.raises(ExampleError, match="the training set is empty"):
        train(load_train_config(path))
    assert not (tmp_path / "run").exists()


def test_shipped_training_configs_validate() -> None:
    from molbridge.config_files import load_yaml_config
    from molbridge.train.config import TrainConfig

    configs = sorted((Path(__file__).resolve().parents[2] / "configs").glob("train-*.yaml"))
    assert {c.name for c in configs} >= {"train-icma-chebi20.yaml", "train-sft-chebi20.yaml", "train-instructions.yaml"}
    tasks = {load_yaml_config(c, TrainConfig, TrainConfigError).task for c in configs}
    assert tasks == {"icma", "sft", "instructions"}

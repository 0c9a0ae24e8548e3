"""A run killed with SIGKILL resumes from its last checkpoint and ends with exactly the weights (and log) of an
uninterrupted run; a finished run is a no-op; a checkpoint of other settings is refused."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from molbridge.train.checkpoints import CheckpointError
from molbridge.train.config import load_train_config
from molbridge.train.loop import train
from tests.tiny_models import chebi20_tiny, kill_after_checkpoint


def config_file(tmp_path: Path, model: Path, **extra) -> Path:
    data = {"model": str(model), "task": "sft", "max_steps": 40, "batch_size": 4, "grad_accum": 2, "save_every": 10,
            "eval_every": 0, "lora": {"r": 4, "alpha": 8, "dropout": 0.1}, "learning_rate": 1e-3,
            "data": {"train": str(chebi20_tiny(tmp_path, 24))}, **extra}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def losses(run: Path) -> list[str]:
    with (run / "log.csv").open() as handle:
        return [row["loss"] for row in csv.DictReader(handle)]


def test_killed_run_resumes_to_identical_weights(tmp_path, tiny_llama) -> None:
    path = config_file(tmp_path, tiny_llama)
    straight = train(load_train_config(path, out=str(tmp_path / "straight")))
    assert straight.steps == 40

    killed = tmp_path / "killed"
    kill_after_checkpoint(path, killed, 10)

    resumed = train(load_train_config(path, out=str(killed)))
    assert resumed.steps == 40
    a = load_file(str(tmp_path / "straight" / "final" / "adapter_model.safetensors"))
    b = load_file(str(killed / "final" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert losses(killed) == losses(tmp_path / "straight")
    assert resumed.real_tokens == straight.real_tokens and resumed.padded_tokens == straight.padded_tokens


def test_finished_run_is_a_no_op_and_other_settings_are_refused(tmp_path, tiny_llama) -> None:
    path = config_file(tmp_path, tiny_llama, max_steps=4, save_every=2)
    out = tmp_path / "run"
    first = train(load_train_config(path, out=str(out)))
    stamp = (out / "final" / "adapter_model.safetensors").stat().st_mtime_ns
    again = train(load_train_config(path, out=str(out)))
    assert again == first and (out / "final" / "adapter_model.safetensors").stat().st_mtime_ns == stamp
    with pytest.raises(CheckpointError, match="different settings"):
        train(load_train_config(path, ["learning_rate=0.01"], out=str(out)))


def test_a_refused_resume_leaves_the_run_directory_as_it_was(tmp_path, tiny_llama) -> None:
    path = config_file(tmp_path, tiny_llama, max_steps=2, save_every=2)
    out = tmp_path / "run"
    train(load_train_config(path, out=str(out)))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(CheckpointError, match="different settings"):
        train(load_train_config(path, ["max_length=300"], out=str(out)))
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

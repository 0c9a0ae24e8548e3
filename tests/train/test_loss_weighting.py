"""The loss is a mean over the answer tokens of the whole optimizer step: splitting a batch into accumulated
micro-batches (or over ranks, tests/train/test_distributed.py), or packing its examples into rows, changes neither
the loss nor the gradient."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from molbridge.train.batches import encode, epoch_plan, learned_tokens
from molbridge.train.config import TrainConfig
from molbridge.train.examples import config_examples
from molbridge.train.modeling import load_tokenizer
from molbridge.train.run_log import read_log
from tests.tiny_models import chebi20_tiny


def step_one(tmp_path, tiny_llama, name: str, **settings) -> tuple[float, float, TrainConfig]:
    """One fp32 optimizer step in its own process (Accelerate fixes the precision once per process)."""
    settings = {"batching": "random", **settings}
    config = TrainConfig(model=str(tiny_llama), task="sft", max_steps=1, precision="fp32",
                         lora={"r": 4, "alpha": 8, "dropout": 0.0}, eval_every=0, save_every=1, tensorboard=False,
                         data={"train": str(chebi20_tiny(tmp_path, 24)), "tasks": ["mol2text"]},
                         out=str(tmp_path / name), **settings)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    done = subprocess.run([sys.executable, "-m", "molbridge", "train", str(path), "--quiet"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    row = read_log(tmp_path / name / "log.csv")[0]
    return float(row["loss"]), float(row["grad_norm"]), config


def test_accumulated_micro_batches_weigh_every_answer_token_the_same(tmp_path, tiny_llama) -> None:
    split_loss, split_norm, config = step_one(tmp_path, tiny_llama, "split", batch_size=4, grad_accum=2)
    whole_loss, whole_norm, _ = step_one(tmp_path, tiny_llama, "whole", batch_size=8, grad_accum=1)
    # the two micro-batches carry different numbers of answer tokens, so a mean of their means would differ
    tokenizer = load_tokenizer(config)
    encoded, _ = encode(config_examples(config, tokenizer)[0], tokenizer, config.max_length)
    lengths = [len(e.input_ids) for e in encoded]
    first, second = epoch_plan(lengths, 4, config.seed, 0, grouped=False)[:2]
    assert epoch_plan(lengths, 8, config.seed, 0, grouped=False)[0] == first + second  # the same 8 examples
    counts = [sum(learned_tokens(encoded[i]) for i in batch) for batch in (first, second)]
    assert counts[0] != counts[1]
    assert split_loss == pytest.approx(whole_loss, rel=1e-5)
    assert split_norm == pytest.approx(whole_norm, rel=1e-4)


def test_packed_rows_train_exactly_like_the_padded_batch(tmp_path, tiny_llama) -> None:
    padded_loss, padded_norm, _ = step_one(tmp_path, tiny_llama, "padded", batching="length_grouped", max_length=512)
    packed_loss, packed_norm, _ = step_one(tmp_path, tiny_llama, "packed", batching="packed", max_length=512)
    padded, packed = (read_log(tmp_path / name / "log.csv")[0] for name in ("padded", "packed"))
    assert packed["real_tokens"] == padded["real_tokens"]  # the same examples
    assert packed_loss == pytest.approx(padded_loss, rel=1e-5)
    assert packed_norm == pytest.approx(padded_norm, rel=1e-4)

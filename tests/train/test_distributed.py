"""The distributed path for real: two CPU processes (gloo, torchrun) train with DDP and end with identical
weights on both ranks, having read different batches; their first step has the loss and gradient of one process
reading both batches (the loss is a mean over the answer tokens of the whole step, on every rank)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from safetensors.torch import load_file

from molbridge.train.batches import BatchPlan, encode
from molbridge.train.config import load_train_config
from molbridge.train.examples import config_examples
from molbridge.train.modeling import load_tokenizer
from molbridge.train.run_log import read_log
from tests.tiny_models import chebi20_tiny


def test_two_gloo_ranks_stay_identical(tmp_path, tiny_llama) -> None:
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "sft", "max_steps": 6, "batch_size": 4, "save_every": 3, "eval_every": 0,
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0}, "learning_rate": 1e-3, "batching": "random", "precision": "fp32",
        "data": {"train": str(chebi20_tiny(tmp_path, 24))}}))
    out = tmp_path / "ddp"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "molbridge", "train", str(config), "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "train_state.json").read_text())
    assert summary["steps"] == 6 and len(summary["rank_checksums"]) == 2
    assert summary["rank_checksums"][0] == summary["rank_checksums"][1]
    state = json.loads((out / "checkpoints" / "step-6" / "state.json").read_text())
    assert state["world_size"] == 2
    assert all((out / "checkpoints" / "step-6" / f"rng-{rank}.safetensors").is_file() for rank in (0, 1))
    # the ranks took micro-batches 0..11 of the plan between them (rank r: every other one), none twice
    settings = load_train_config(config)
    tokenizer = load_tokenizer(settings)
    encoded, _ = encode(config_examples(settings, tokenizer)[0], tokenizer, settings.max_length)
    plan = BatchPlan([len(e.input_ids) for e in encoded], 4, settings.seed, grouped=False)
    assert summary["real_tokens"] == sum(len(encoded[i].input_ids) for m in range(12) for i in plan[m])
    weights = load_file(str(out / "final" / "adapter_model.safetensors"))
    assert any(float(w.abs().sum()) > 0 for name, w in weights.items() if "lora_B" in name)  # it learned something
    assert done.stdout.count("max_steps: 6/6 steps") == 1  # one summary, from rank 0
    single = subprocess.run([sys.executable, "-m", "molbridge", "train", str(config), "--out", str(tmp_path / "one"),
                             "--set", "batch_size=8", "--set", "max_steps=1", "--quiet"],
                            capture_output=True, text=True, timeout=600)  # its own process: fp32 there
    assert single.returncode == 0, single.stderr[-3000:]
    ddp_step, one_step = read_log(out / "log.csv")[0], read_log(tmp_path / "one" / "log.csv")[0]
    assert float(ddp_step["loss"]) == pytest.approx(float(one_step["loss"]), rel=1e-5)
    assert float(ddp_step["grad_norm"]) == pytest.approx(float(one_step["grad_norm"]), rel=1e-4)

"""Small real inputs for training tests: a tiny random-weight Llama with SmolLM2's tokenizer and chat template,
and the first records of a ChEBI-20 split (read from ../shared in place, written to a temporary file)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.conftest import SHARED_DATA


def make_tiny_llama(target: Path) -> Path:
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from molbridge.models.causal_lm import ensure_default_model

    tokenizer = AutoTokenizer.from_pretrained(ensure_default_model())
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def chebi20_tiny(tmp_path: Path, n: int = 24, source: str = "validation.txt") -> Path:
    """The first `n` records of a ChEBI-20 split in a temporary file (skips without ../shared)."""
    split = SHARED_DATA / "chebi20" / source
    if not split.exists():
        pytest.skip(f"{split} not found: tests on ../shared data need the shared folder beside the repo")
    lines = split.read_text().splitlines()
    path = tmp_path / f"chebi20-{n}.txt"
    path.write_text("\n".join(lines[:n + 1]) + "\n")
    return path


def make_tiny_t5(target: Path) -> Path:
    """A tiny random-weight T5 (encoder-decoder) with SmolLM2's tokenizer: the seq2seq path with real modules."""
    from molbridge.models.t5_scratch import ScratchT5, scratch_t5

    return scratch_t5(target, ScratchT5(d_model=32, d_kv=8, d_ff=64, layers=2, heads=4))


def build_multimodal_dataset(root: Path) -> Path:
    """A small built dataset for the 3D stages: ChEBI-20 validation rows with captions and ETKDG conformers
    (`mol2text`), QM9 molecules with their B3LYP geometries (HOMO/LUMO/gap and RDKit property Q&A)."""
    import yaml

    from molbridge.data.build.config import load_config
    from molbridge.data.build.pipeline import build

    rows = chebi20_tiny(root, 24)
    config = root / "mm.yaml"
    config.write_text(yaml.safe_dump({
        "name": "mm", "split": {"method": "random", "fractions": [0.75, 0.125, 0.125], "seed": 0},
        "sources": [{"kind": "chebi20", "path": str(rows), "tasks": ["mol2text"], "conformers": True},
                    {"kind": "qm9", "limit": 24, "tasks": ["property_prediction", "computed_property"]}]}))
    build(load_config(config), root / "dataset")
    return root / "dataset"


def kill_after_checkpoint(config: Path, out: Path, step: int) -> None:
    """`molbridge train config --out out` in a subprocess, SIGKILLed as soon as checkpoint `step` is complete
    (before it could finish: the caller's run must be longer)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, "-m", "molbridge", "train", str(config), "--out", str(out), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (out / "checkpoints" / f"step-{step}" / "state.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before the checkpoint"
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert not (out / "final").exists(), "the run finished before it could be killed: make it longer"


def two_ranks_then_one(config: Path, root: Path, batch_size: int) -> tuple[dict, dict, dict]:
    """Train `config` on two gloo ranks (torchrun) into root/ddp, then one step in one process with
    `batch_size` (both ranks' batches) into root/one: (DDP summary, first DDP step log, the single step log)."""
    import json
    import subprocess
    import sys

    from molbridge.train.run_log import read_log

    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "molbridge", "train", str(config), "--out", str(root / "ddp"), "--quiet"],
                         capture_output=True, text=True, timeout=600)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "molbridge", "train", str(config), "--out", str(root / "one"),
                          "--set", f"batch_size={batch_size}", "--set", "max_steps=1", "--quiet"],
                         capture_output=True, text=True, timeout=600)  # its own process: fp32 there
    assert one.returncode == 0, one.stderr[-3000:]
    summary = json.loads((root / "ddp" / "train_state.json").read_text())
    return summary, read_log(root / "ddp" / "log.csv")[0], read_log(root / "one" / "log.csv")[0]


def train_and_answer(root: Path, llama: Path, dataset: Path, multimodal: dict, steps: int = 2) -> list[dict]:
    """A `mol2text` soft-token run of `steps` steps (tiny LoRA) with `multimodal` settings, then `molbridge predict`
    on the test split: the answer rows."""
    import json

    import yaml
    from typer.testing import CliRunner

    from molbridge.cli.main import app
    from molbridge.train.config import load_train_config
    from molbridge.train.loop import train

    path = root / "run.yaml"
    path.write_text(yaml.safe_dump({
        "model": str(llama), "task": "instructions", "max_steps": steps, "batch_size": 4, "save_every": steps,
        "eval_every": 0, "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
        "data": {"dataset": str(dataset), "tasks": ["mol2text"], "eval_examples": 2},
        "multimodal": {"stage": "llm", "train_encoder": True, **multimodal}}))
    result = train(load_train_config(path, out=str(root / "run")))
    assert result.steps == steps
    out = root / "answers.jsonl"
    answered = CliRunner().invoke(app, ["predict", str(root / "run"), "--out", str(out), "--split", "test",
                                        "--max-new-tokens", "4", "--quiet", "--no-score"])
    assert answered.exit_code == 0, answered.output
    return [json.loads(line) for line in out.read_text().splitlines()]

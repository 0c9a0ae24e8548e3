"""Pre-training the protein encoder by masked residues in the training loop: ESM-2's masking, a held-out loss, an
encoder directory later stages load, `molbridge models pretrain-protein`, and an exact resume after kill -9."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from typer.testing import CliRunner

from molbridge.cli.main import app
from molbridge.models.encoders.esm_structure import EsmStructureConfig, EsmStructureEncoder
from molbridge.protein.residue_tokens import CLS, EOS, MASK, PAD
from molbridge.train.config import TrainConfigError, load_train_config
from molbridge.train.loop import train
from molbridge.train.protein_mlm import mask_residues
from tests.tiny_models import kill_after_checkpoint
from tests.train.test_protein_soft_tokens import ESM, protein_dataset

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain-protein.yaml"


def tiny(tmp_path, tiny_llama, **extra) -> list[str]:
    dataset = protein_dataset(tmp_path / "data")
    settings = {"model": str(tiny_llama), "data.dataset": dataset, "data.tasks": "[protein_description]",
                "data.eval_split": "test", "data.eval_examples": 4, "multimodal.encoder_settings": str(ESM),
                "max_steps": 4, "save_every": 2, "eval_every": 2, "batch_size": 2, "budget_minutes": "null", **extra}
    return [f"{key}={value}" for key, value in settings.items()]


def test_masking_follows_esm2() -> None:
    torch.manual_seed(0)
    tokens = torch.randint(4, 24, (64, 102))
    tokens[:, 0], tokens[:, -1] = CLS, EOS
    tokens[:8, 50:] = PAD
    masked, targets = mask_residues(tokens)
    chosen = targets != -100
    residues = (tokens != PAD) & (tokens != CLS) & (tokens != EOS)
    assert not (chosen & ~residues).any() and chosen.any(dim=1).all()
    assert 0.12 < chosen.sum() / residues.sum() < 0.18
    assert torch.equal(targets[chosen], tokens[chosen])
    as_mask = (masked[chosen] == MASK).float().mean()
    kept = (masked[chosen] == tokens[chosen]).float().mean()
    assert 0.75 < as_mask < 0.85 and 0.05 < kept < 0.16
    assert torch.equal(masked[~chosen], tokens[~chosen])


def test_a_pretraining_run_saves_an_encoder_that_later_stages_load(tmp_path, tiny_llama) -> None:
    result = train(load_train_config(CONFIG, tiny(tmp_path, tiny_llama), out=str(tmp_path / "mlm")))
    assert result.steps == 4 and result.train_examples == 6  # the distinct proteins of the training split
    assert result.eval_loss is not None and 0 < result.eval_loss < 10
    final = tmp_path / "mlm" / "final"
    loaded = EsmStructureEncoder(EsmStructureConfig(model=str(final))).eval()
    saved_bias = load_file(str(final / "structure_bias.safetensors"))
    assert all(torch.equal(loaded.bias.state_dict()[k], v) for k, v in saved_bias.items())
    fresh = EsmStructureEncoder(EsmStructureConfig(**ESM))
    assert not torch.equal(loaded.esm.embeddings.word_embeddings.weight, fresh.esm.embeddings.word_embeddings.weight)
    nxt = tmp_path / "next.yaml"
    nxt.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "instructions", "max_steps": 1, "batch_size": 2, "save_every": 1,
        "eval_every": 0, "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
        "data": {"dataset": str(tmp_path / "data"), "tasks": ["protein_description"], "eval_split": "test",
                 "eval_examples": 1},
        "multimodal": {"stage": "llm", "encoder": "esm_structure", "encoder_settings": {"model": str(final)},
                       "projector": "mlp"}}))
    assert train(load_train_config(nxt, out=str(tmp_path / "next"))).steps == 1


def test_the_cli_command_runs_the_packaged_config(tmp_path, tiny_llama) -> None:
    args = ["models", "pretrain-protein", "--out", str(tmp_path / "cli"), "--quiet"]
    for override in tiny(tmp_path, tiny_llama, max_steps=2):
        args += ["--set", override]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli" / "final" / "esm" / "config.json").is_file()


def test_a_killed_pretraining_run_resumes_to_identical_weights(tmp_path, tiny_llama) -> None:
    data = yaml.safe_load(CONFIG.read_text())
    config = load_train_config(CONFIG, tiny(tmp_path, tiny_llama, max_steps=12, save_every=3, eval_every=0,
                                              precision="fp32"))
    path = tmp_path / "mlm.yaml"
    path.write_text(yaml.safe_dump({**data, **config.model_dump(mode="json")}))
    straight = tmp_path / "straight"
    import subprocess
    import sys

    run = [sys.executable, "-m", "molbridge", "train", str(path), "--quiet"]
    subprocess.run([*run, "--out", str(straight)], check=True, capture_output=True)
    killed = tmp_path / "killed"
    kill_after_checkpoint(path, killed, 3)
    subprocess.run([*run, "--out", str(killed)], check=True, capture_output=True)
    a = load_file(str(straight / "final" / "esm" / "model.safetensors"))
    b = load_file(str(killed / "final" / "esm" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_mlm_settings_are_checked(tmp_path, tiny_llama) -> None:
    with pytest.raises(TrainConfigError, match="esm_structure"):
        load_train_config(CONFIG, [*tiny(tmp_path, tiny_llama), "multimodal.encoder=unimol"])

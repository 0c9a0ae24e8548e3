"""SEPIT's stage 0 (protein_text): CLIP's symmetric loss against a frozen text tower, masked residues and
rotation-invariant distance denoising, trained in the loop into an encoder directory."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from molbridge.models.encoders.esm_structure import EsmStructureConfig, EsmStructureEncoder
from molbridge.train.config import load_train_config
from molbridge.train.loop import train
from molbridge.train.protein_text import contrast_loss, distance_loss
from tests.tiny_models import two_ranks_then_one
from tests.train.test_protein_soft_tokens import ESM, protein_dataset


def test_contrast_is_clips_symmetric_cross_entropy() -> None:
    protein = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]), dim=-1)
    text = torch.nn.functional.normalize(torch.tensor([[0.9, 0.1], [0.5, 0.9], [0.1, 1.0]]), dim=-1)
    scale = torch.tensor(math.log(10.0))
    logits = 10.0 * protein @ text.T
    expected = 0.0
    for i in range(3):
        expected += -torch.log_softmax(logits[i], 0)[i] / 6 - torch.log_softmax(logits[:, i], 0)[i] / 6
    torch.testing.assert_close(contrast_loss(protein, text, scale), expected)


def test_distance_denoising_counts_positioned_pairs_within_contact_only() -> None:
    clean = torch.tensor([[[0.0, 0, 0], [3.8, 0, 0], [30.0, 0, 0], [0, 3.0, 0]]])
    present = torch.tensor([[True, True, True, False]])
    predicted = torch.zeros(1, 4, 4)
    # pairs counted: (0,1) and (1,0) at 3.8 Å; (0,2), (1,2) are beyond 15 Å, residue 3 has no position
    torch.testing.assert_close(distance_loss(predicted, clean, present), torch.tensor([3.8 ** 2]))
    rotation = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    torch.testing.assert_close(distance_loss(predicted, clean @ rotation.T, present), torch.tensor([3.8 ** 2]))


def test_stage0_trains_the_encoder_against_frozen_caption_embeddings(tmp_path, tiny_llama) -> None:
    config = tmp_path / "s0.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "instructions", "max_steps": 3, "batch_size": 4, "save_every": 3,
        "eval_every": 3, "learning_rate": 1e-3,
        "data": {"dataset": protein_dataset(tmp_path / "data"), "tasks": ["protein_description"],
                 "eval_split": "test", "eval_examples": 4},
        "multimodal": {"stage": "protein_text", "encoder": "esm_structure", "encoder_settings": ESM}}))
    result = train(load_train_config(config, out=str(tmp_path / "s0")))
    assert result.steps == 3 and result.train_examples == 6 and result.eval_loss is not None
    assert math.isfinite(result.final_loss) and result.final_loss > 0
    encoder = EsmStructureEncoder(EsmStructureConfig(model=str(tmp_path / "s0" / "final")))
    assert encoder.bias is not None and encoder.output_dim == ESM["hidden"]


def test_predict_on_an_encoder_only_run_says_what_to_do_with_it(tmp_path, tiny_llama) -> None:
    from typer.testing import CliRunner

    from molbridge.cli.main import app

    config = tmp_path / "mlm.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "instructions", "max_steps": 1, "batch_size": 4, "save_every": 1,
        "eval_every": 0, "data": {"dataset": protein_dataset(tmp_path / "data"), "tasks": ["protein_description"],
                                  "eval_split": "test", "eval_examples": 2},
        "multimodal": {"stage": "mlm", "encoder": "esm_structure", "encoder_settings": ESM}}))
    train(load_train_config(config, out=str(tmp_path / "mlm")))
    result = CliRunner().invoke(app, ["predict", str(tmp_path / "mlm"), "--out", str(tmp_path / "p.jsonl"),
                                      "--split", "test", "--quiet"])
    assert result.exit_code != 0 and "encoder_settings.model" in result.output


def test_two_ddp_ranks_contrast_each_protein_against_every_ranks_captions(tmp_path, tiny_llama) -> None:
    """Two gloo ranks of 2 pairs take the first step one process of 4 pairs takes: same loss, same gradient.
    (The masked and denoising losses draw random masks and noise per process, so they are weighted 0 here.)"""
    config = tmp_path / "s0.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "instructions", "max_steps": 2, "batch_size": 2, "save_every": 2,
        "eval_every": 0, "learning_rate": 1e-3, "batching": "random", "precision": "fp32",
        "data": {"dataset": protein_dataset(tmp_path / "data"), "tasks": ["protein_description"]},
        "multimodal": {"stage": "protein_text", "encoder": "esm_structure",
                       "encoder_settings": ESM | {"structure_dropout": 0.0},
                       "protein_text_weights": {"contrast": 1.0, "masked": 0.0, "denoise": 0.0}}}))
    summary, ddp_step, one_step = two_ranks_then_one(config, tmp_path, batch_size=4)
    assert summary["steps"] == 2 and summary["rank_checksums"][0] == summary["rank_checksums"][1]
    # each rank's 2 proteins against all 4 captions (and back); per-rank contrast alone would give another loss
    assert float(ddp_step["loss"]) == pytest.approx(float(one_step["loss"]), rel=1e-5)
    assert float(ddp_step["grad_norm"]) == pytest.approx(float(one_step["grad_norm"]), rel=1e-3)
    assert EsmStructureEncoder(EsmStructureConfig(model=str(tmp_path / "ddp" / "final"))).bias is not None

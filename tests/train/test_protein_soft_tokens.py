"""Proteins in an LLM through the same multimodal wrapper (SEPIT's stage 1 path): the structure-aware ESM encoder
read as every residue (MLP projector, as SEPIT) or compressed by a Q-Former, trained, saved, answered and scored;
a protein ESM cannot read is named, not fatal."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from molbridge.cli.main import app
from molbridge.data.parquet_io import write_shard
from molbridge.records import make_record
from molbridge.train.config import TrainConfigError, load_train_config
from molbridge.train.loop import train

ESM = {"layers": 1, "hidden": 16, "heads": 2, "ffn": 32, "kernels": 8}
SEQUENCES = ["MKTAYIAKQRQISFVKSHF", "GSHMLEDPVDAFQ", "MSDNGPQNQRNAPRITFGG", "MKVLAAGIVGLLLA", "MTEYKLVVVGAGGVG",
             "MQIFVKTLTGKTITLE"]


def protein_dataset(root) -> str:
    rng = np.random.default_rng(0)
    rows = []
    for index, sequence in enumerate(SEQUENCES * 2):
        coords = None if index % 3 == 0 else (np.cumsum(rng.normal(size=(len(sequence), 3)), axis=0) * 2).tolist()
        rows.append(make_record(
            id=f"P{index}", task="protein_description", instruction="Describe the function of this protein.",
            input=sequence, output=f"A protein of {len(sequence)} residues.",
            modalities={"protein_sequence": sequence, "protein_coords": coords},
            meta={"source": "test", "license": "none", "split": "train" if index < 8 else "test"}))
    write_shard(root / "data" / "train-s00-c00000.parquet", rows[:8])
    write_shard(root / "data" / "test-s00-c00000.parquet", rows[8:])
    return str(root)


def config(tmp_path, tiny_llama, projector: str, settings: dict) -> object:
    path = tmp_path / f"{projector}.yaml"
    path.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "instructions", "max_steps": 2, "batch_size": 4, "save_every": 2,
        "eval_every": 0, "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
        "data": {"dataset": protein_dataset(tmp_path / "data"), "tasks": ["protein_description"],
                 "eval_split": "test", "eval_examples": 2},
        "multimodal": {"stage": "llm", "encoder": "esm_structure", "encoder_settings": ESM, "projector": projector,
                       "projector_settings": settings, "train_encoder": True}}))
    return load_train_config(path, out=str(tmp_path / projector))


@pytest.mark.parametrize("projector, settings", [("mlp", {}), ("qformer", {
    "queries": 2, "hidden_size": 16, "layers": 2, "heads": 2, "intermediate_size": 32})])
def test_a_protein_run_trains_and_answers(tmp_path, tiny_llama, projector, settings) -> None:
    result = train(config(tmp_path, tiny_llama, projector, settings))
    assert result.steps == 2 and result.train_examples == 8
    out = tmp_path / f"{projector}.jsonl"
    answered = CliRunner().invoke(app, ["predict", str(tmp_path / projector), "--out", str(out), "--split", "test",
                                        "--max-new-tokens", "4", "--quiet"])
    assert answered.exit_code == 0, answered.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4 and all(row["task"] == "protein_description" for row in rows)
    assert "protein_description:" in answered.output


def test_the_prompt_names_proteins_and_carries_one_soft_token_per_residue_with_mlp(tmp_path, tiny_llama) -> None:
    from molbridge.train.recipes import recipe_for

    recipe = recipe_for(config(tmp_path, tiny_llama, "mlp", {}))
    prepared = recipe.examples()
    first = prepared.train[0]
    assert "Protein: <protein>" in first.prompt and "Molecule:" not in first.prompt
    assert first.prompt.count("<protein>") == len(first.item.tokens) == len(first.source) + 2  # <cls> … <eos>


def test_a_uni_mol_checkpoint_for_a_protein_encoder_is_refused(tmp_path, tiny_llama) -> None:
    path = tmp_path / "c.yaml"
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"")
    path.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "instructions", "data": {"dataset": protein_dataset(tmp_path / "d")},
        "multimodal": {"stage": "llm", "encoder": "esm_structure", "encoder_checkpoint": str(weights)}}))
    with pytest.raises(TrainConfigError, match="Uni-Mol weights"):
        load_train_config(path)

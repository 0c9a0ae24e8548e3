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
        sequence = sequence if index < 8 else sequence[::-1]  # held-out proteins are not training ones
        coords = None if index % 3 == 0 else (np.cumsum(rng.normal(size=(len(sequence), 3)), axis=0) * 2).tolist()
        rows.append(make_record(
            id=f"P{index}", task="protein_description", instruction="Describe the function of this protein.",
            input=sequence, output=f"A protein of {len(sequence)} residues.",
            modalities={"protein_sequence": sequence, "protein_coords": coords,
                        "caption": f"A protein of {len(sequence)} residues."},
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
    from molbridge.retrieval.text_encoder import packaged_model_dir

    answered = CliRunner().invoke(app, ["predict", str(tmp_path / projector), "--out", str(out), "--split", "test",
                                        "--max-new-tokens", "4", "--quiet", "--bertscore-model",
                                        str(packaged_model_dir())])
    assert answered.exit_code == 0, answered.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4 and all(row["task"] == "protein_description" for row in rows)
    assert "protein_description:" in answered.output and '"bertscore_f1"' in answered.output


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


def test_a_moe_stage_after_a_protein_stage_starts_as_it_and_reloads(tmp_path, tiny_llama) -> None:
    """SEPIT stage 2: the earlier adapter is merged, the MLPs copied into experts (the model computes what the
    earlier one did), trained with routers and a fresh adapter, saved with the merged adapter, reloaded."""
    import torch

    from molbridge.models.moe import moe_blocks
    from molbridge.models.multimodal_io import load_multimodal, read_info
    from molbridge.train.recipes import recipe_for

    first = config(tmp_path, tiny_llama, "mlp", {})
    train(first)
    second = load_train_config(_write(tmp_path / "moe.yaml", {
        **yaml.safe_load((tmp_path / "mlp.yaml").read_text()), "moe": {"experts": 2, "top_k": 1},
        "multimodal": {"stage": "llm", "projector": "mlp", "init_from": str(tmp_path / "mlp" / "final")}}),
        out=str(tmp_path / "moe"))
    recipe = recipe_for(second)
    upcycled, _ = recipe.build()
    upcycled.eval()
    earlier = load_multimodal(tmp_path / "mlp" / "final")
    example = recipe.examples().evaluation[0]
    batch = recipe.collate(recipe.encode([example], held_out=True)[0])
    with torch.no_grad():
        embeds = upcycled.inputs_embeds(batch["input_ids"], {k: batch[k] for k in ("tokens", "coords", "present")})
        before = earlier.llm(inputs_embeds=embeds, attention_mask=batch["attention_mask"]).logits
        after = upcycled.llm(inputs_embeds=embeds, attention_mask=batch["attention_mask"]).logits
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)

    assert train(second).steps == 2
    final = tmp_path / "moe" / "final"
    assert read_info(final)["moe"]["experts"] == 2 and (final / "llm_merged").is_dir()
    reloaded = load_multimodal(final)
    assert len(moe_blocks(reloaded.llm)) == len(moe_blocks(upcycled.llm)) > 0
    out = tmp_path / "moe.jsonl"
    answered = CliRunner().invoke(app, ["predict", str(tmp_path / "moe"), "--out", str(out), "--split", "test",
                                        "--max-new-tokens", "3", "--quiet"])
    assert answered.exit_code == 0, answered.output


def _write(path, data: dict):
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_sepit_configs_run_in_order(tmp_path, tiny_llama) -> None:
    """configs/sepit-stage0.yaml, -stage1.yaml (its encoder from stage 0's final/) and -stage2.yaml (the MoE stage
    from stage 1), with `--set` overrides for a tiny model and dataset: the smoke run of the shipped stages."""
    from pathlib import Path

    configs = Path(__file__).resolve().parents[2] / "configs"
    dataset = protein_dataset(tmp_path / "data")
    common = [f"model={tiny_llama}", f"data.dataset={dataset}", "data.tasks=[protein_description]",
              "data.eval_split=test", "max_steps=1", "save_every=1", "eval_generate=0", "batch_size=2"]
    zero = load_train_config(configs / "sepit-stage0.yaml", [*common, f"multimodal.encoder_settings={ESM}"],
                             out=str(tmp_path / "s0"))
    assert train(zero).steps == 1
    tiny = [*common, "lora.target_modules=[q_proj, gate_proj]"]
    first = load_train_config(configs / "sepit-stage1.yaml", [
        *tiny, f"multimodal.encoder_settings={{model: {tmp_path / 's0' / 'final'}}}",
        "multimodal.projector_settings={queries: 2, hidden_size: 16, layers: 2, heads: 2, intermediate_size: 32}"],
        out=str(tmp_path / "s1"))
    assert train(first).steps == 1
    second = load_train_config(configs / "sepit-stage2.yaml", [
        *tiny, f"multimodal.init_from={tmp_path / 's1' / 'final'}"], out=str(tmp_path / "s2"))
    assert train(second).steps == 1
    assert (tmp_path / "s2" / "final" / "llm_merged").is_dir()

"""3D-MoLM's three stages through `molbridge train`: each starts from the one before, the frozen encoder stays
as it was, a killed stage-1 run resumes to identical weights, and two DDP ranks share their negatives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from molbridge.apps.scoring import generation_scores
from molbridge.train.config import TrainConfigError, load_train_config
from molbridge.train.examples import ExampleError
from molbridge.train.loop import train
from molbridge.train.run_log import read_log
from tests.tiny_models import kill_after_checkpoint, two_ranks_then_one

ENCODER = {"layers": 1, "embed_dim": 16, "ffn_dim": 32, "heads": 2, "kernels": 8}
QFORMER = {"queries": 2, "hidden_size": 16, "layers": 2, "heads": 2, "intermediate_size": 32}


def write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def stage1(tmp_path: Path, dataset: Path, tiny_llama: Path, **extra) -> Path:
    return write(tmp_path / "stage1.yaml", {
        "model": str(tiny_llama), "task": "instructions", "max_steps": 6, "batch_size": 4, "save_every": 2,
        "eval_every": 0, "learning_rate": 1e-3,
        "data": {"dataset": str(dataset), "tasks": ["mol2text"], "eval_examples": 2},
        "multimodal": {"stage": "qformer", "encoder_settings": ENCODER, "projector_settings": QFORMER,
                       "train_encoder": True}, **extra})


def test_the_three_stages_run_in_order_each_from_the_last(tmp_path, multimodal_dataset, tiny_llama, one_torch_thread):
    first = train(load_train_config(stage1(tmp_path, multimodal_dataset, tiny_llama), out=str(tmp_path / "s1")))
    assert first.steps == 6 and first.train_examples == 16  # one pair per molecule and caption
    s1 = tmp_path / "s1" / "final"
    assert {p.name for p in s1.iterdir()} == {"multimodal.json", "encoder.safetensors", "projector.safetensors",
                                              "heads.safetensors", "tokenizer"}
    lora = {"r": 4, "alpha": 16, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]}
    second = write(tmp_path / "stage2.yaml", {
        "model": str(tiny_llama), "task": "instructions", "max_steps": 4, "batch_size": 4, "save_every": 2,
        "eval_every": 0, "lora": lora,
        "data": {"dataset": str(multimodal_dataset), "tasks": ["mol2text"], "eval_examples": 2},
        "multimodal": {"stage": "llm", "init_from": str(s1)}})
    two = train(load_train_config(second, out=str(tmp_path / "s2")))
    assert two.steps == 4
    s2 = tmp_path / "s2" / "final"
    encoder1, encoder2 = load_file(str(s1 / "encoder.safetensors")), load_file(str(s2 / "encoder.safetensors"))
    assert all((encoder1[k] == encoder2[k]).all() for k in encoder1)  # frozen by default (3D-MoLM)
    projector1, projector2 = load_file(str(s1 / "projector.safetensors")), load_file(str(s2 / "projector.safetensors"))
    assert set(projector2) - set(projector1) == {"llm_proj.weight", "llm_proj.bias"}
    assert any(not (projector1[k] == projector2[k]).all() for k in projector1)  # the Q-Former went on learning
    third = write(tmp_path / "stage3.yaml", {
        "model": str(tiny_llama), "task": "instructions", "max_steps": 3, "batch_size": 4, "save_every": 3,
        "eval_every": 0, "eval_generate": 3, "learning_rate": 1e-5,
        "data": {"dataset": str(multimodal_dataset), "tasks": ["property_prediction", "computed_property"],
                 "eval_examples": 3, "group_balance": 0.25},
        "multimodal": {"stage": "llm", "init_from": str(s2)}})
    three = train(load_train_config(third, out=str(tmp_path / "s3")), generation_scores=generation_scores)
    adapter2 = load_file(str(s2 / "llm" / "adapter_model.safetensors"))
    adapter3 = load_file(str(tmp_path / "s3" / "final" / "llm" / "adapter_model.safetensors"))
    assert adapter2.keys() == adapter3.keys()  # stage 3 trains stage 2's adapter on
    assert any(not (adapter2[k] == adapter3[k]).all() for k in adapter2)
    scores = three.evaluations[-1]["scores"]
    assert scores and all(group.split(":")[0] in {"property_prediction", "computed_property"} for group in scores)
    assert all({"mae", "valid_ratio"} <= set(values) for values in scores.values())


def test_a_killed_stage1_run_resumes_to_identical_weights(tmp_path, multimodal_dataset, tiny_llama) -> None:
    # fp32, every run in its own process (Accelerate fixes the precision once per process); under bf16 autocast
    # the CPU kernels of a fresh process need not sum in the same order as a warm one
    path = stage1(tmp_path, multimodal_dataset, tiny_llama, max_steps=30, save_every=6, precision="fp32")

    def run(out: Path) -> dict:
        done = subprocess.run([sys.executable, "-m", "molbridge", "train", str(path), "--out", str(out), "--quiet"],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((out / "train_state.json").read_text())

    straight = run(tmp_path / "straight")
    killed = tmp_path / "killed"
    kill_after_checkpoint(path, killed, 6)
    resumed = run(killed)
    assert resumed["steps"] == straight["steps"] == 30
    for name in ("encoder", "projector", "heads"):
        a = load_file(str(tmp_path / "straight" / "final" / f"{name}.safetensors"))
        b = load_file(str(killed / "final" / f"{name}.safetensors"))
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), name
    assert [r["loss"] for r in read_log(killed / "log.csv")] == [r["loss"] for r in read_log(tmp_path / "straight"
                                                                                             / "log.csv")]


def test_two_ddp_ranks_contrast_against_each_others_molecules(tmp_path, multimodal_dataset, tiny_llama) -> None:
    contrast = {"contrast": 1.0, "match": 0.0, "caption": 0.0}
    path = stage1(tmp_path, multimodal_dataset, tiny_llama, max_steps=2, batching="random", precision="fp32")
    config = yaml.safe_load(path.read_text())
    config["multimodal"] |= {"loss_weights": contrast}
    config["multimodal"]["encoder_settings"] = ENCODER | {"dropout": 0.0, "attention_dropout": 0.0}
    config["multimodal"]["projector_settings"] = QFORMER | {"dropout": 0.0}
    write(path, config)
    summary, ddp_step, one_step = two_ranks_then_one(path, tmp_path, batch_size=8)
    assert summary["rank_checksums"][0] == summary["rank_checksums"][1]
    # each rank's 4 molecules against all 8 texts (and back): the loss and gradient of one process with all 8
    assert float(ddp_step["loss"]) == pytest.approx(float(one_step["loss"]), rel=1e-5)
    # the contrast gradient at initialisation is small (~5e-5) and summed in another order across two processes:
    # agreement to 1e-2 (a wrong scaling of the gathered features is off by a factor of 2 or more)
    assert float(ddp_step["grad_norm"]) == pytest.approx(float(one_step["grad_norm"]), rel=1e-2)


def test_stage_settings_are_checked_before_anything_loads(tmp_path, multimodal_dataset, tiny_llama) -> None:
    path = stage1(tmp_path, multimodal_dataset, tiny_llama)
    with pytest.raises(TrainConfigError, match="multimodal.init_from: .*does not exist"):
        load_train_config(path, [f"multimodal.init_from={tmp_path / 'nowhere'}"])
    with pytest.raises(TrainConfigError, match="stage 'qformer' trains a Q-Former"):
        load_train_config(path, ["multimodal.projector=mlp"])
    with pytest.raises(TrainConfigError, match="loss_on: answer"):
        load_train_config(path, ["loss_on=all"])
    with pytest.raises(TrainConfigError, match="no LLM to generate with"):
        load_train_config(path, ["eval_generate=4"])
    with pytest.raises(TrainConfigError, match="multimodal.encoder: 'schnetx'"):
        load_train_config(path, ["multimodal.encoder=schnetx"])
    with pytest.raises(ExampleError, match="caption"):
        train(load_train_config(path, ["data.tasks=[property_prediction]"], out=str(tmp_path / "none")))


def test_released_or_pretrained_encoder_weights_set_the_encoder_and_stay_frozen(tmp_path, multimodal_dataset,
                                                                                 tiny_llama) -> None:
    from safetensors.torch import save_file

    from molbridge.models.encoders.unimol import UniMolConfig, UniMolEncoder

    pretrained = UniMolEncoder(UniMolConfig(layers=2, embed_dim=8, ffn_dim=16, heads=2, kernels=4))
    weights = tmp_path / "encoder.safetensors"
    save_file({k: v.contiguous() for k, v in pretrained.state_dict().items()}, str(weights))
    path = stage1(tmp_path, multimodal_dataset, tiny_llama, max_steps=2)
    config = load_train_config(path, [f"multimodal.encoder_checkpoint={weights}", "multimodal.train_encoder=false"],
                               out=str(tmp_path / "run"))
    train(config)
    saved = load_file(str(tmp_path / "run" / "final" / "encoder.safetensors"))
    assert saved.keys() == pretrained.state_dict().keys()  # the checkpoint's sizes, not encoder_settings'
    assert all(torch.equal(saved[k], v) for k, v in pretrained.state_dict().items())


def test_a_molecule_that_cannot_be_encoded_is_named_once_and_held_out_ones_are_not_counted(
        tmp_path, multimodal_dataset, tiny_llama) -> None:
    """One training and one held-out record lose their conformer (no ETKDG fallback): left_out.txt names each once,
    with its reason, and the run's left-out count holds the training one only."""
    from molbridge.data.parquet_io import read_split, write_shard

    dataset = tmp_path / "dataset"
    stripped = []
    for split in ("train", "validation"):
        rows = [r for r in read_split(multimodal_dataset, split) if r.task == "computed_property"]
        first = rows[0]
        stripped.append(first.id)
        rows[0] = first.model_copy(update={"modalities": first.modalities.model_copy(update={"conformer": None})})
        write_shard(dataset / "data" / f"{split}-s00-c00000.parquet", rows)
    config = write(tmp_path / "s.yaml", {
        "model": str(tiny_llama), "task": "instructions", "max_steps": 1, "batch_size": 4, "save_every": 1,
        "eval_every": 1, "data": {"dataset": str(dataset), "tasks": ["computed_property"], "eval_examples": 200},
        "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
        "multimodal": {"stage": "llm", "encoder_settings": ENCODER, "projector_settings": QFORMER,
                       "conformer_fallback": False}})
    result = train(load_train_config(config, out=str(tmp_path / "run")))
    lines = (tmp_path / "run" / "left_out.txt").read_text().splitlines()
    assert result.left_out == 1 and len(lines) == 2
    assert lines[0].startswith(f"{stripped[0]}:computed_property: ") and "conformer" in lines[0]
    assert lines[1].startswith(f"held out {stripped[1]}:computed_property: ") and "conformer" in lines[1]

"""The graph modality: a record's SMILES as its GIN's per-atom states (every layer, concatenated), padded per batch
with pads that change nothing; a saved GIN directory loads; bad molecules are named; a graph run trains and
answers through the multimodal wrapper with one soft token per atom."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from typer.testing import CliRunner

from molbridge.cli.main import app
from molbridge.models.encoders import ENCODERS
from molbridge.models.encoders.gin_graph import GINGraphConfig, GraphInputError
from molbridge.models.gin import GINConfig, GINEncoder
from molbridge.records import make_record
from molbridge.train.config import load_train_config
from molbridge.train.loop import train

TINY = {"hidden": 8, "layers": 2}


def record(rid: str, smiles: str | None):
    return make_record(id=rid, task="mol2text", instruction="", input=smiles or "", output="A molecule.",
                       modalities={"smiles": smiles}, meta={"source": "test"})


def test_atoms_become_padded_states_of_every_layer_and_pads_change_nothing() -> None:
    kind = ENCODERS["gin"]
    ethanol, phenol = kind.featurize(record("e", "CCO"), 0), kind.featurize(record("p", "Oc1ccccc1"), 0)
    assert (kind.length(ethanol), kind.length(phenol)) == (3, 7)  # heavy atoms
    torch.manual_seed(0)
    encoder = kind.make(TINY).eval()
    states, padding = encoder(**kind.collate([ethanol, phenol]))
    assert states.shape == (2, 7, 16) and encoder.output_dim == 16  # 2 layers × 8
    assert padding.tolist() == [[False] * 3 + [True] * 4, [False] * 7]
    alone, _ = encoder(**kind.collate([ethanol]))
    torch.testing.assert_close(states[0, :3], alone[0], atol=1e-6, rtol=1e-5)
    node_states = encoder.gin.node_states(*(kind.collate([ethanol])[k] for k in ("x", "edge_index", "edge_attr")))
    torch.testing.assert_close(alone[0], torch.cat(node_states, dim=1))


def test_a_saved_gin_loads_with_its_own_sizes(tmp_path) -> None:
    saved = GINEncoder(GINConfig(hidden=12, layers=3))
    saved.save(tmp_path / "gin")
    encoder = ENCODERS["gin"].make({"model": str(tmp_path / "gin")})
    assert encoder.config == GINGraphConfig(str(tmp_path / "gin"), 12, 3) and encoder.output_dim == 36
    assert all(torch.equal(a, b) for a, b in zip(encoder.gin.state_dict().values(), saved.state_dict().values(),
                                                 strict=True))


@pytest.mark.parametrize("bad, reason", [(record("g1", None), "no SMILES"),
                                         (record("g2", "C1CC"), "cannot read the molecule")])
def test_records_without_a_readable_molecule_are_named(bad, reason) -> None:
    with pytest.raises(GraphInputError, match=reason) as caught:
        ENCODERS["gin"].featurize(bad, 0)
    assert caught.value.record_id == bad.id


def test_a_graph_run_trains_and_answers_with_one_soft_token_per_atom(tmp_path, multimodal_dataset,
                                                                      tiny_llama) -> None:
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "instructions", "max_steps": 2, "batch_size": 4, "save_every": 2,
        "eval_every": 0, "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
        "data": {"dataset": str(multimodal_dataset), "tasks": ["mol2text"], "eval_examples": 2},
        "multimodal": {"stage": "llm", "encoder": "gin", "encoder_settings": TINY, "projector": "mlp",
                       "train_encoder": True}}))
    result = train(load_train_config(path, out=str(tmp_path / "run")))
    assert result.steps == 2
    out = tmp_path / "answers.jsonl"
    answered = CliRunner().invoke(app, ["predict", str(tmp_path / "run"), "--out", str(out), "--split", "test",
                                        "--max-new-tokens", "4", "--quiet", "--no-score"])
    assert answered.exit_code == 0, answered.output
    assert [json.loads(line)["task"] for line in out.read_text().splitlines()]

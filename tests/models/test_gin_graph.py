"""The graph modality: a record's SMILES as its GIN's per-atom states (every layer, concatenated), padded per batch
with pads that change nothing; a saved GIN directory loads; bad molecules are named; a graph run trains and
answers through the multimodal wrapper with one soft token per atom."""

from __future__ import annotations

import pytest
import torch

from molbridge.models.encoders import ENCODERS
from molbridge.models.encoders.gin_graph import GINGraphConfig, GraphInputError
from molbridge.models.gin import GINConfig, GINEncoder
from molbridge.records import make_record
from tests.tiny_models import train_and_answer

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
    rows = train_and_answer(tmp_path, tiny_llama, multimodal_dataset,
                            {"encoder": "gin", "encoder_settings": TINY, "projector": "mlp"})
    assert rows and all(row["task"] == "mol2text" for row in rows)

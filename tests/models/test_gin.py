"""GIN encoder: save/load round trip, typed errors naming the file, deterministic unit-norm embeddings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from molbridge.chem.graph_features import smiles_to_graph
from molbridge.errors import FileFormatError, MissingResourceError
from molbridge.models.gin import CONFIG_FILE, WEIGHTS_FILE, GINConfig, GINConfigError, GINEncoder, embed_smiles

TINY = GINConfig(hidden=8, layers=2, proj_dim=8)
SMILES = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "[Na+].[Cl-]", "C", "CN1CCC[C@H]1c1cccnc1",
          "O=C(O)CCC(=O)O", "C1CCCCC1N"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _encoder(config: GINConfig = TINY, seed: int = 0) -> GINEncoder:
    torch.manual_seed(seed)
    encoder = GINEncoder(config)
    # non-trivial BatchNorm statistics, so a round trip that lost buffers would show
    encoder.train()
    with torch.no_grad():
        encoder(Batch.from_data_list([smiles_to_graph(s) for s in SMILES]))
    return encoder.eval()


@pytest.fixture
def saved(tmp_path):
    encoder = _encoder()
    return encoder, encoder.save(tmp_path / "gin")


def test_round_trip_gives_identical_embeddings(saved):
    encoder, directory = saved
    assert sorted(p.name for p in directory.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    loaded = GINEncoder.load(directory)
    assert loaded.config == TINY and not loaded.training
    before, after = embed_smiles(encoder, SMILES), embed_smiles(loaded, SMILES)
    assert np.array_equal(before.vectors, after.vectors)


def test_save_replaces_an_existing_model_and_leaves_no_temporaries(tmp_path):
    _encoder(seed=0).save(tmp_path / "gin")
    second = _encoder(seed=1)
    second.save(tmp_path / "gin")
    assert [p.name for p in tmp_path.iterdir()] == ["gin"]
    assert np.array_equal(embed_smiles(GINEncoder.load(tmp_path / "gin"), SMILES).vectors,
                          embed_smiles(second, SMILES).vectors)


def test_config_json_records_format_and_vocabularies(saved):
    meta = json.loads((saved[1] / CONFIG_FILE).read_text())
    assert meta["format"] == "molbridge.gin/1"
    assert meta["config"] == {"hidden": 8, "layers": 2, "proj_dim": 8, "dropout": 0.0, "pooling": "mean"}
    assert len(meta["atom_feature_dims"]) == 8 and len(meta["bond_feature_dims"]) == 3


def test_missing_directory_names_the_file(tmp_path):
    with pytest.raises(MissingResourceError, match=r"nowhere/config\.json: missing"):
        GINEncoder.load(tmp_path / "nowhere")


def test_missing_weights_name_the_file(saved):
    (saved[1] / WEIGHTS_FILE).unlink()
    with pytest.raises(MissingResourceError, match=r"model\.safetensors: missing"):
        GINEncoder.load(saved[1])


def test_truncated_weights_are_a_file_format_error(saved):
    weights = saved[1] / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(FileFormatError, match=r"model\.safetensors: not a readable safetensors file") as err:
        GINEncoder.load(saved[1])
    assert err.value.path == str(weights)


def test_weights_of_another_shape_are_a_file_format_error(saved, tmp_path):
    _encoder(GINConfig(hidden=12, layers=2, proj_dim=8)).save(tmp_path / "other")
    (saved[1] / WEIGHTS_FILE).write_bytes((tmp_path / "other" / WEIGHTS_FILE).read_bytes())
    with pytest.raises(FileFormatError, match=r"model\.safetensors: weights do not fit the saved config"):
        GINEncoder.load(saved[1])


@pytest.mark.parametrize("text, reason", [
    ("{not json", "not JSON"),
    ('{"format": "molbridge.gin/0"}', "format 'molbridge.gin/0'"),
    ("[]", "format 'list'"),
])
def test_corrupted_config_is_a_file_format_error(saved, text, reason):
    (saved[1] / CONFIG_FILE).write_text(text)
    with pytest.raises(FileFormatError, match=rf"config\.json: {reason}"):
        GINEncoder.load(saved[1])


def test_config_of_other_vocabularies_or_bad_values_is_rejected(saved):
    path = saved[1] / CONFIG_FILE
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({**meta, "atom_feature_dims": [1, 2]}))
    with pytest.raises(FileFormatError, match="atom_feature_dims"):
        GINEncoder.load(saved[1])
    path.write_text(json.dumps({**meta, "config": {**meta["config"], "pooling": "median"}}))
    with pytest.raises(FileFormatError, match="pooling must be one of"):
        GINEncoder.load(saved[1])
    path.write_text(json.dumps({**meta, "config": {"hidden": 8}}))
    with pytest.raises(FileFormatError, match="exactly the keys"):
        GINEncoder.load(saved[1])


@pytest.mark.parametrize("kwargs", [{"hidden": 0}, {"layers": True}, {"proj_dim": -1}, {"dropout": 1.0},
                                    {"pooling": "median"}])
def test_config_validation(kwargs):
    with pytest.raises(GINConfigError):
        GINConfig(**kwargs)


def test_embedding_width_is_every_layer_concatenated():
    assert GINConfig(hidden=8, layers=3).emb_dim == 24


def test_embeddings_are_unit_norm_float32_and_deterministic():
    encoder = _encoder()
    first = embed_smiles(encoder, SMILES)
    assert first.vectors.dtype == np.float32 and first.vectors.shape == (len(SMILES), TINY.emb_dim)
    np.testing.assert_allclose(np.linalg.norm(first.vectors, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(first.vectors, embed_smiles(encoder, SMILES).vectors)
    assert len({row.tobytes() for row in first.vectors}) == len(SMILES)


def test_a_molecule_embeds_the_same_whatever_its_batch():
    encoder = _encoder()
    together = embed_smiles(encoder, SMILES).vectors
    alone = np.vstack([embed_smiles(encoder, [s]).vectors for s in SMILES])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    np.testing.assert_allclose(embed_smiles(encoder, SMILES, batch_size=3).vectors, together, atol=1e-6)


def test_invalid_molecules_get_no_row_and_a_reason():
    encoder = _encoder()
    out = embed_smiles(encoder, ["CCO", "C1CC", "c1ccccc1", ""])
    assert out.vectors.shape == (2, TINY.emb_dim)
    assert out.positions.tolist() == [0, 2]
    assert [p for p, _ in out.failures] == [1, 3]
    assert out.failures[0][1].startswith("SMILES Parse Error")
    np.testing.assert_allclose(out.vectors, embed_smiles(encoder, ["CCO", "c1ccccc1"]).vectors, atol=1e-6)
    with pytest.raises(ValueError):
        _vectors, _failures = out  # three fields: the two-name unpacking that would misalign fails loudly


def test_empty_input_and_all_invalid_give_empty_matrices():
    encoder = _encoder()
    for inputs in ([], ["nonsense("]):
        out = embed_smiles(encoder, inputs)
        assert out.vectors.shape == (0, TINY.emb_dim) and out.positions.shape == (0,)
        assert len(out.failures) == len(inputs)


def test_embedding_restores_training_mode_and_rejects_a_bare_string():
    encoder = _encoder().train()
    embed_smiles(encoder, SMILES[:2])
    assert encoder.training
    with pytest.raises(TypeError):
        embed_smiles(encoder, "CCO")


def test_pooling_choices_run():
    for pooling in ("sum", "max"):
        out = embed_smiles(_encoder(GINConfig(hidden=4, layers=1, proj_dim=4, pooling=pooling)), SMILES)
        assert out.vectors.shape == (len(SMILES), 4) and np.isfinite(out.vectors).all()

"""Contrastive GIN pre-training: packed batches, seeded reproducibility, learning, exact resume, MOSES."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from torch_geometric.data import Batch

from molbridge.chem.graph_features import smiles_to_graphs
from molbridge.errors import FileFormatError
from molbridge.models.gin import WEIGHTS_FILE, GINConfig, GINEncoder
from molbridge.progress import Progress
from molbridge.retrieval.graph_pretrain import (
    CHECKPOINT_FILE,
    ContrastiveConfig,
    PackedGraphs,
    PretrainError,
    nt_xent,
    pretrain_gin,
)

TINY = GINConfig(hidden=16, layers=2, proj_dim=16, dropout=0.1)
MOLECULES = [
    "CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
    "O=C(O)CCC(=O)O", "C1CCCCC1N", "CN1CCC[C@H]1c1cccnc1", "OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O",
    "CCN(CC)CC", "Clc1ccc(Cl)cc1", "CC(=O)Nc1ccc(O)cc1", "C=CC(=O)OC", "N#Cc1ccccc1", "CCCCCCCCCC(=O)O",
    "c1ccc2ccccc2c1", "c1ccncc1", "C1=CC=CN=C1N", "CS(=O)(=O)N", "OC(=O)c1ccccc1O", "CC(C)(C)OC(=O)N",
    "COc1ccc2[nH]ccc2c1", "C1CCOC1", "CC#CC", "FC(F)(F)c1ccccc1", "[Na+].[Cl-]", "C", "O=C1CCCCC1",
    "NC(=O)c1cccnc1", "CCOC(=O)C=C", "Brc1ccccc1", "CC1=CC(=O)C=CC1=O", "OCCN", "C1CC1C(=O)O", "c1cc[nH]c1",
    "CCCCN", "O=[N+]([O-])c1ccccc1", "CC(O)CO", "C1COCCN1", "S=C(N)N",
]  # 40 molecules


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _fast(tmp_path, name="run", **kwargs):
    """A tiny, seconds-long run; keyword arguments override the defaults."""
    settings = {"config": TINY, "batch_size": 16, "max_steps": 6, "max_minutes": 5.0, "seed": 0, "lr": 3e-3}
    return pretrain_gin(MOLECULES, tmp_path / name, **{**settings, **kwargs})


def _weights(result) -> dict[str, torch.Tensor]:
    return load_file(str(result.encoder_dir / WEIGHTS_FILE))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_packed_batch_equals_pyg_batching():
    graphs, _ = smiles_to_graphs(MOLECULES)
    packed = PackedGraphs.from_graphs(graphs)
    chosen = torch.tensor([25, 3, 26, 0, 39, 17])  # includes the bond-less salt and methane
    x, edge_index, edge_attr, membership = packed.batch(chosen)
    expected = Batch.from_data_list([graphs[i] for i in chosen])
    assert torch.equal(x, expected.x) and torch.equal(edge_index, expected.edge_index)
    assert torch.equal(edge_attr, expected.edge_attr) and torch.equal(membership, expected.batch)
    assert len(packed) == len(MOLECULES)


def test_nt_xent_matches_its_definition():
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    z = torch.nn.functional.normalize(torch.cat([a, b]), dim=1)
    sim = z @ z.T / 0.5
    expected = []
    for i in range(8):
        positive = (i + 4) % 8
        others = torch.cat([sim[i, :i], sim[i, i + 1:]])
        expected.append(torch.logsumexp(others, 0) - sim[i, positive])
    assert torch.allclose(nt_xent(a, b, 0.5), torch.stack(expected).mean(), atol=1e-6)


def test_result_files_and_counts(tmp_path):
    result = pretrain_gin([*MOLECULES, "C1CC", "not a molecule"], tmp_path / "run", config=TINY, batch_size=16,
                          max_steps=3, seed=0)
    assert (result.steps, result.resumed_from, result.molecules, result.invalid) == (3, 0, 40, 2)
    assert (tmp_path / "run" / CHECKPOINT_FILE).is_file()
    assert GINEncoder.load(result.encoder_dir).config == TINY
    assert result.final_loss > 0 and result.seconds >= result.featurise_seconds > 0


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    first, second = _fast(tmp_path, "a"), _fast(tmp_path, "b")
    assert _same(_weights(first), _weights(second)) and first.final_loss == second.final_loss
    assert not _same(_weights(first), _weights(_fast(tmp_path, "c", seed=1)))


def test_loss_decreases_over_thirty_steps(tmp_path):
    losses: list[float] = []
    _fast(tmp_path, max_steps=30, progress=lambda p: losses.append(p.values["loss"]))
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


class Killed(Exception):
    pass


def test_killed_run_resumes_to_the_uninterrupted_weights(tmp_path):
    uninterrupted = _fast(tmp_path, "whole", max_steps=12)

    def kill_at_step_10(p: Progress) -> None:
        if p.done == 10:
            raise Killed

    with pytest.raises(Killed):
        _fast(tmp_path, "killed", max_steps=12, checkpoint_every=4, progress=kill_at_step_10)
    assert not (tmp_path / "killed" / "encoder").exists()
    resumed = _fast(tmp_path, "killed", max_steps=12, checkpoint_every=4)
    assert (resumed.resumed_from, resumed.steps) == (8, 12)  # last checkpoint before the kill: step 8
    assert _same(_weights(uninterrupted), _weights(resumed))
    assert resumed.final_loss == uninterrupted.final_loss


def test_raising_max_steps_continues_the_same_run(tmp_path):
    _fast(tmp_path, "staged", max_steps=5)
    staged = _fast(tmp_path, "staged", max_steps=9)
    assert (staged.resumed_from, staged.steps) == (5, 9)
    assert _same(_weights(staged), _weights(_fast(tmp_path, "straight", max_steps=9)))


def test_resuming_with_other_settings_is_refused(tmp_path):
    _fast(tmp_path, max_steps=2)
    with pytest.raises(PretrainError, match="other lr"):
        _fast(tmp_path, max_steps=4, lr=1e-4)
    with pytest.raises(PretrainError, match="other molecules"):
        pretrain_gin(MOLECULES[:-1], tmp_path / "run", config=TINY, batch_size=16, max_steps=4, lr=3e-3)
    with pytest.raises(PretrainError, match="other recipe"):
        _fast(tmp_path, max_steps=4, recipe=ContrastiveConfig(mask_rate=0.3))


def test_corrupted_checkpoint_names_the_file(tmp_path):
    _fast(tmp_path, max_steps=1)
    path = tmp_path / "run" / CHECKPOINT_FILE
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(FileFormatError, match=r"checkpoint\.pt: unreadable checkpoint") as err:
        _fast(tmp_path, max_steps=2)
    assert err.value.path == str(path)


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(PretrainError, match="needs >= 2"):
        pretrain_gin(["CCO", "C1CC"], tmp_path / "x", config=TINY, max_steps=1)
    with pytest.raises(PretrainError):
        _fast(tmp_path, batch_size=1)
    with pytest.raises(PretrainError):
        ContrastiveConfig(mask_rate=1.0)


def test_time_budget_stops_the_run(tmp_path):
    result = _fast(tmp_path, max_steps=None, max_minutes=0.0)
    assert result.steps == 0 and (tmp_path / "run" / CHECKPOINT_FILE).is_file()

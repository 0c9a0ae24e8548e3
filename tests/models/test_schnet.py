"""The SchNet encoder: pads never matter, rigid-motion invariance, the neighbour graph, and the registry entry."""

from __future__ import annotations

import torch

from molbridge.chem.conformer_tokens import conformer_tokens
from molbridge.models.encoders import ENCODERS
from molbridge.models.encoders.schnet import SchNetConfig, SchNetEncoder
from molbridge.models.encoders.unimol import collate_conformers
from molbridge.models.projectors import QFormerProjector, QFormerSettings
from molbridge.records import Conformer
from tests.models.geometry import ETHANOL, PHENOL

TINY = SchNetConfig(hidden_channels=16, num_filters=16, num_interactions=2, num_gaussians=8, cutoff=5.0)


def _items():
    return [conformer_tokens(Conformer(atoms=a, coords=c), n) for n, (a, c) in (("e", ETHANOL), ("p", PHENOL))]


def test_padding_changes_nothing_for_the_real_atoms():
    torch.manual_seed(0)
    encoder = SchNetEncoder(TINY).eval()
    ethanol, phenol = _items()
    batch = encoder(*collate_conformers([ethanol, phenol]))
    n, m = len(ethanol.tokens), len(phenol.tokens)
    for row, item in enumerate((ethanol, phenol)):
        alone = encoder(*collate_conformers([item]))
        size = len(item.tokens)
        torch.testing.assert_close(batch.states[row, :size], alone.states[0], atol=1e-5, rtol=1e-5)
    assert batch.states.shape == (2, m, 16)
    assert batch.padding.tolist() == [[False] * n + [True] * (m - n), [False] * m]
    assert not batch.states[0, n:].any()


def test_states_are_invariant_to_rotating_and_moving_the_molecule():
    torch.manual_seed(0)
    encoder = SchNetEncoder(TINY).eval()
    tokens, coords = collate_conformers(_items())
    rotation, _ = torch.linalg.qr(torch.randn(3, 3))
    moved = coords @ rotation.T + torch.tensor([3.0, -7.0, 11.0])
    base, turned = encoder(tokens, coords), encoder(tokens, moved)
    torch.testing.assert_close(base.states, turned.states, atol=1e-4, rtol=1e-4)
    assert torch.equal(base.padding, turned.padding)


def test_the_graph_stays_in_each_molecule_and_keeps_the_nearest_under_the_cutoff():
    encoder = SchNetEncoder(SchNetConfig(hidden_channels=8, num_filters=8, num_gaussians=4, cutoff=2.0,
                                         max_num_neighbors=2))
    ethanol, phenol = _items()
    tokens, coords = collate_conformers([ethanol, phenol])
    real, atoms = tokens.ne(0), tokens.gt(2)
    edge_index, weight = encoder.graph(coords, atoms, real)
    flat_coords, flat_atoms = coords[real], atoms[real]
    molecule = torch.arange(2).unsqueeze(1).expand_as(real)[real]
    source, target = edge_index
    assert flat_atoms[source].all() and flat_atoms[target].all()  # [CLS]/[SEP] take no part
    assert torch.equal(molecule[source], molecule[target]) and (source != target).all()
    torch.testing.assert_close(weight, (flat_coords[source] - flat_coords[target]).norm(dim=-1))
    assert (weight < 2.0).all() and torch.bincount(target).max() <= 2
    # The ring carbon next to O has two ring neighbours at 1.39 Å and O at 1.36 Å: the cap keeps O and one carbon.
    first = len(ethanol.tokens) + 1  # phenol's first carbon, indexed over the real positions; its O is 6 on
    kept = source[target == first].tolist()
    assert len(kept) == 2 and first + 6 in kept


def test_gradients_reach_every_weight():
    torch.manual_seed(0)
    encoder = SchNetEncoder(TINY)
    encoder(*collate_conformers(_items())).states.sum().backward()
    assert [n for n, p in encoder.named_parameters() if p.grad is None or not p.grad.abs().sum()] == []


def test_the_registry_builds_it_and_a_qformer_reads_it():
    torch.manual_seed(0)
    kind = ENCODERS["schnet"]
    settings = {"hidden_channels": 16, "num_filters": 16, "num_interactions": 1, "num_gaussians": 8}
    encoder = kind.make(settings).eval()
    assert kind.modality == "conformer" and kind.placeholder == "<mol>" and encoder.output_dim == 16
    assert kind.settings_of(encoder) == {**settings, "cutoff": 10.0, "max_num_neighbors": 32}
    items = _items()
    assert [kind.length(item) for item in items] == [5, 9]
    out = encoder(**kind.collate(items))
    projector = QFormerProjector(encoder.output_dim, 12, QFormerSettings(queries=4, hidden_size=16, layers=2,
                                                                         heads=2, intermediate_size=32,
                                                                         vocab_size=30)).eval()
    soft, mask = projector(out.states, out.padding)
    assert soft.shape == (2, 4, 12) and not mask.any()

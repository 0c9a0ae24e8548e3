"""The Uni-Mol-architecture encoder: pads never matter, rotation invariance, and loading released weights."""

from __future__ import annotations

import argparse
import fractions

import pytest
import torch

from molbridge.chem.conformer_tokens import conformer_tokens
from molbridge.errors import FileFormatError
from molbridge.models.encoders.unimol import UniMolConfig, UniMolEncoder, collate_conformers
from molbridge.models.encoders.unimol_weights import load_unimol_checkpoint
from molbridge.records import Conformer
from tests.models.geometry import ETHANOL, PHENOL

TINY = UniMolConfig(layers=2, embed_dim=16, ffn_dim=32, heads=4, kernels=8)


def _items():
    return [conformer_tokens(Conformer(atoms=a, coords=c), n) for n, (a, c) in (("e", ETHANOL), ("p", PHENOL))]


def test_padding_changes_nothing_for_the_real_atoms():
    torch.manual_seed(0)
    encoder = UniMolEncoder(TINY).eval()
    ethanol, phenol = _items()
    batch = encoder(*collate_conformers([ethanol, phenol]))
    alone = encoder(*collate_conformers([ethanol]))
    n = len(ethanol.tokens)
    torch.testing.assert_close(batch.states[0, :n], alone.states[0], atol=1e-5, rtol=1e-5)
    assert batch.padding[0].tolist() == [False] * n + [True] * (len(phenol.tokens) - n)
    assert not batch.states[0, n:].any() and not batch.pair_delta[0, n:].any()


def test_states_are_invariant_to_rotating_the_molecule():
    torch.manual_seed(0)
    encoder = UniMolEncoder(TINY).eval()
    tokens, coords = collate_conformers(_items()[1:])
    rotation, _ = torch.linalg.qr(torch.randn(3, 3))
    base = encoder(tokens, coords).states
    turned = encoder(tokens, coords @ rotation.T).states
    torch.testing.assert_close(base, turned, atol=1e-4, rtol=1e-4)


def test_gradients_reach_every_weight():
    torch.manual_seed(0)
    encoder = UniMolEncoder(TINY)
    out = encoder(*collate_conformers(_items()))
    (out.states.sum() + out.pair_delta.sum()).backward()
    assert [n for n, p in encoder.named_parameters() if p.grad is None or not p.grad.abs().sum()] == []


def release_state(vocab=31, width=16, ffn=32, heads=4, layers=2, kernels=8) -> dict[str, torch.Tensor]:
    """A state dict with the key names and shapes of Uni-Mol's pre-training model (UniMolModel with its heads),
    written from its module layout: embed_tokens, gbf, gbf_proj, encoder.* and the lm/coord/dist heads."""
    shapes = {"embed_tokens.weight": (vocab, width), "gbf.means.weight": (1, kernels), "gbf.stds.weight": (1, kernels),
              "gbf.mul.weight": (vocab * vocab, 1), "gbf.bias.weight": (vocab * vocab, 1),
              "gbf_proj.linear1.weight": (kernels, kernels), "gbf_proj.linear1.bias": (kernels,),
              "gbf_proj.linear2.weight": (heads, kernels), "gbf_proj.linear2.bias": (heads,)}
    for norm, size in (("emb_layer_norm", width), ("final_layer_norm", width), ("final_head_layer_norm", heads)):
        shapes |= {f"encoder.{norm}.weight": (size,), f"encoder.{norm}.bias": (size,)}
    for i in range(layers):
        p = f"encoder.layers.{i}."
        shapes |= {p + "self_attn.in_proj.weight": (3 * width, width), p + "self_attn.in_proj.bias": (3 * width,),
                   p + "self_attn.out_proj.weight": (width, width), p + "self_attn.out_proj.bias": (width,),
                   p + "self_attn_layer_norm.weight": (width,), p + "self_attn_layer_norm.bias": (width,),
                   p + "fc1.weight": (ffn, width), p + "fc1.bias": (ffn,), p + "fc2.weight": (width, ffn),
                   p + "fc2.bias": (width,), p + "final_layer_norm.weight": (width,),
                   p + "final_layer_norm.bias": (width,)}
    shapes |= {"lm_head.weight": (vocab, width), "lm_head.bias": (vocab,), "lm_head.dense.weight": (width, width),
               "lm_head.dense.bias": (width,), "lm_head.layer_norm.weight": (width,),
               "lm_head.layer_norm.bias": (width,), "pair2coord_proj.linear1.weight": (heads, heads),
               "pair2coord_proj.linear1.bias": (heads,), "pair2coord_proj.linear2.weight": (1, heads),
               "pair2coord_proj.linear2.bias": (1,), "dist_head.dense.weight": (heads, heads),
               "dist_head.dense.bias": (heads,), "dist_head.layer_norm.weight": (heads,),
               "dist_head.layer_norm.bias": (heads,), "dist_head.out_proj.weight": (1, heads),
               "dist_head.out_proj.bias": (1,)}
    generator = torch.Generator().manual_seed(0)
    return {k: torch.randn(shape, generator=generator) for k, shape in shapes.items()}


def test_paper_size_has_uni_mols_shapes():
    own = {k: tuple(v.shape) for k, v in UniMolEncoder(UniMolConfig.paper()).state_dict().items()}
    release = {k: tuple(v.shape) for k, v in release_state(31, 512, 2048, 64, 15, 128).items()
               if not k.startswith(("lm_head", "pair2coord", "dist_head", "encoder.final_head"))}
    assert own == release


def test_a_uni_core_checkpoint_loads_by_name_with_its_heads_set_aside(tmp_path):
    state = release_state()
    path = tmp_path / "mol_pre_no_h.pt"
    torch.save({"args": argparse.Namespace(arch="unimol_base", seed=1), "model": state,
                "optimizer_history": [{"num_updates": 10}], "extra_state": {"epoch": 3}}, path)
    encoder, heads = load_unimol_checkpoint(path)
    assert encoder.config == TINY
    assert len(heads) == 18 and all(h.startswith(("lm_head", "pair2coord", "dist_head", "encoder.final_head"))
                                    for h in heads)
    for name, tensor in encoder.state_dict().items():
        assert torch.equal(tensor, state[name]), name


def test_a_checkpoint_with_a_foreign_class_is_refused_not_run(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": release_state(), "hook": fractions.Fraction(1, 3)}, path)
    with pytest.raises(FileFormatError, match="not loadable without running code"):
        load_unimol_checkpoint(path)


def test_a_misshapen_or_incomplete_checkpoint_names_the_weights(tmp_path):
    state = release_state()
    state["encoder.layers.1.fc2.weight"] = torch.zeros(3, 3)
    del state["encoder.layers.0.fc1.bias"]
    path = tmp_path / "bad.pt"
    torch.save({"model": state}, path)
    with pytest.raises(FileFormatError, match="missing: encoder.layers.0.fc1.bias.*misshapen: "
                                              "encoder.layers.1.fc2.weight"):
        load_unimol_checkpoint(path)

"""The structure-aware ESM-2 encoder (SEPIT): the bias equals a per-pair computation, pads and residues without a
position get none, eager and SDPA attention both add it, structure dropout removes whole proteins' bias, and the
encoder reads records through the registry."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from molbridge.models.encoders import ENCODERS
from molbridge.models.encoders.esm_structure import (
    EncoderSetupError,
    EsmStructureConfig,
    EsmStructureEncoder,
    StructureBias,
    _check_usable,
    collate_residues,
)
from molbridge.protein.residue_tokens import ESM_TOKENS, residue_tokens
from molbridge.records import make_record

TINY = EsmStructureConfig(layers=2, hidden=16, heads=2, ffn=32, kernels=8)
SEQUENCES = ("MKTAYIAKQR", "GSHMLE")


def protein(rid: str, sequence: str, *, coords: bool = True, missing: tuple[int, ...] = ()):
    rng = np.random.default_rng(len(sequence))
    points = None
    if coords:
        points = (np.cumsum(rng.normal(size=(len(sequence), 3)), axis=0) * 2.0).tolist()
        for index in missing:
            points[index] = [0.0, 0.0, 0.0]
    return make_record(id=rid, task="protein_description", instruction="Describe <protein>.", input="", output="x",
                       modalities={"protein_sequence": sequence, "protein_coords": points},
                       meta={"source": "test", "license": "none"})


def encoder(**changes) -> EsmStructureEncoder:
    torch.manual_seed(0)
    return EsmStructureEncoder(EsmStructureConfig(**{**TINY.__dict__, **changes})).eval()


def batch(*records):
    return collate_residues([residue_tokens(r) for r in records])


def test_the_bias_equals_a_per_pair_computation_and_is_zero_without_a_position() -> None:
    torch.manual_seed(0)
    bias = StructureBias(heads=2, kernels=8)
    coords = torch.randn(1, 5, 3) * 4
    present = torch.tensor([[False, True, True, False, True]])
    with torch.no_grad():
        got = bias(coords, present)
        for i in range(5):
            for j in range(5):
                if not (present[0, i] and present[0, j]):
                    assert torch.equal(got[0, :, i, j], torch.zeros(2))
                    continue
                d = float(torch.linalg.norm(coords[0, i] - coords[0, j]))
                std = bias.stds.abs() + 1e-5
                density = torch.tensor([math.exp(-0.5 * ((d - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
                                        for m, s in zip(bias.means.tolist(), std.tolist(), strict=True)])
                torch.testing.assert_close(got[0, :, i, j], bias.project(density), rtol=1e-5, atol=1e-6)


def test_padding_changes_nothing_for_the_real_residues() -> None:
    model = encoder()
    short, long = protein("a", SEQUENCES[1]), protein("b", SEQUENCES[0])
    with torch.no_grad():
        alone = model(**batch(short))
        together = model(**batch(short, long))
    n = len(SEQUENCES[1]) + 2
    torch.testing.assert_close(together.states[0, :n], alone.states[0], rtol=1e-5, atol=1e-5)
    assert together.padding[0, n:].all() and not together.padding[0, :n].any()


def test_a_protein_without_positions_reads_as_the_plain_sequence_model() -> None:
    model = encoder()
    record = protein("a", SEQUENCES[0], coords=False)
    inputs = batch(record)
    with torch.no_grad():
        ours = model(**inputs).states
        plain = model.esm(input_ids=inputs["tokens"], attention_mask=torch.ones_like(inputs["tokens"]),
                          output_hidden_states=True).hidden_states[-2]
        with_structure = model(**batch(protein("a", SEQUENCES[0]))).states
    torch.testing.assert_close(ours, plain, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(with_structure, plain, atol=1e-4)  # the bias reaches the states


def test_eager_and_sdpa_attention_both_add_the_bias() -> None:
    model = encoder()
    inputs = batch(protein("a", SEQUENCES[0], missing=(2, 3)), protein("b", SEQUENCES[1]))
    with torch.no_grad():
        model.esm.set_attn_implementation("eager")
        eager = model(**inputs).states
        model.esm.set_attn_implementation("sdpa")
        sdpa = model(**inputs).states
    torch.testing.assert_close(eager, sdpa, rtol=1e-4, atol=1e-5)


def test_structure_dropout_removes_whole_proteins_bias_in_training_only() -> None:
    model = encoder(structure_dropout=0.5)
    inputs = batch(*(protein(f"p{i}", SEQUENCES[0]) for i in range(64)))
    real = inputs["tokens"] != 1
    torch.manual_seed(3)
    with torch.no_grad():
        eval_bias = model.attention_bias(real, inputs["coords"], inputs["present"])
        model.train()
        train_bias = model.attention_bias(real, inputs["coords"], inputs["present"])
    pad_only = torch.zeros_like(eval_bias[:, :1])
    dropped = [bool(torch.equal(train_bias[i], pad_only[i].expand_as(train_bias[i]))) for i in range(64)]
    kept = [bool(torch.equal(train_bias[i], eval_bias[i])) for i in range(64)]
    assert all(d != k for d, k in zip(dropped, kept, strict=True))  # each protein: all of its bias, or none
    assert 16 < sum(dropped) < 48  # about half at rate 0.5
    assert not any(torch.equal(eval_bias[i], pad_only[i].expand_as(eval_bias[i])) for i in range(64))


def test_a_saved_esm_directory_loads_and_the_wrong_model_is_refused(tmp_path) -> None:
    model = encoder()
    model.esm.save_pretrained(tmp_path / "esm")
    loaded = encoder(model=str(tmp_path / "esm"))
    inputs = batch(protein("a", SEQUENCES[0], coords=False))
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).states, model(**inputs).states)
    with pytest.raises(EncoderSetupError, match="alphabet"):
        _check_usable(SimpleNamespace(vocab_size=30, vocab_list=None, _attn_implementation="eager"))
    with pytest.raises(EncoderSetupError, match="flash_attention_2"):
        _check_usable(SimpleNamespace(vocab_size=len(ESM_TOKENS), vocab_list=list(ESM_TOKENS),
                                      _attn_implementation="flash_attention_2"))


def test_the_registry_reads_protein_records() -> None:
    kind = ENCODERS["esm_structure"]
    assert (kind.modality, kind.placeholder) == ("protein", "<protein>")
    module = kind.make({"layers": 1, "hidden": 16, "heads": 2, "ffn": 32, "kernels": 4})
    items = [kind.featurize(protein(f"p{i}", s), 0) for i, s in enumerate(SEQUENCES)]
    out = module(**kind.collate(items))
    assert out.states.shape == (2, len(SEQUENCES[0]) + 2, module.output_dim)
    assert [kind.length(item) for item in items] == [len(s) + 2 for s in SEQUENCES]

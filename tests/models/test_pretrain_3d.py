"""Uni-Mol-style pre-training of the 3D encoder: masking, equivariant coordinates, learning, exact resume, bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from molbridge.chem.conformer_tokens import CLS, MASK, PAD, SEP, conformer_tokens
from molbridge.cli.main import app
from molbridge.models.encoders import encoder_kind
from molbridge.models.encoders.pretrain_3d import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    ELEMENT_IDS,
    WEIGHTS_FILE,
    MaskingConfig,
    Pretrain3DError,
    Pretrain3DSettings,
    PretrainHeads,
    Skipped,
    load_pretrained_3d,
    mask_batch,
    pretrain_3d,
    tokenize_conformers,
)
from molbridge.models.encoders.unimol import UniMolConfig, UniMolEncoder, collate_conformers
from molbridge.models.encoders.unimol_weights import load_unimol_checkpoint
from molbridge.progress import Progress
from molbridge.records import Conformer
from tests.models.geometry import ETHANOL, PHENOL

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = UniMolConfig(layers=2, embed_dim=32, ffn_dim=64, heads=4, kernels=16)


def tiny(**overrides) -> Pretrain3DSettings:
    """A ~1 s run: 40 QM9 molecules, a 2 × 32 encoder, 6 steps, checkpoints and held-out scores every 3."""
    base = Pretrain3DSettings(encoder=TINY, qm9_molecules=40, steps=6, batch_size=8, lr=1e-3, warmup_steps=2,
                              held_out=0.1, checkpoint_every=3, eval_every=3)
    return replace(base, **overrides)


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _random_batch(molecules: int = 2000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Molecules of 1–20 random elements wrapped in [CLS] … [SEP], right-padded."""
    g = torch.Generator().manual_seed(seed)
    sizes = torch.randint(1, 21, (molecules,), generator=g)
    tokens = torch.full((molecules, 22), PAD)
    for i, n in enumerate(sizes.tolist()):
        tokens[i, : n + 2] = torch.tensor([CLS, *torch.randint(*ELEMENT_IDS, (n,), generator=g).tolist(), SEP])
    coords = torch.randn(molecules, 22, 3, generator=g) * (tokens != PAD).unsqueeze(-1)
    return tokens, coords


def test_masking_rates_follow_uni_mol():
    tokens, coords = _random_batch()
    out = mask_batch(tokens, coords, MaskingConfig(), torch.Generator().manual_seed(1))
    atoms = (tokens != PAD) & (tokens != CLS) & (tokens != SEP)
    chosen = out.chosen
    assert not (chosen & ~atoms).any()  # [CLS], [SEP] and pads are never chosen
    assert abs(chosen.sum() / atoms.sum() - 0.15) < 0.01
    n = chosen.sum()
    assert abs(out.masked.sum() / n - 0.8) < 0.03 and abs(out.randomized.sum() / n - 0.1) < 0.02
    assert (out.tokens[out.masked] == MASK).all()
    random_ids = out.tokens[out.randomized]
    assert ((random_ids >= ELEMENT_IDS[0]) & (random_ids < ELEMENT_IDS[1])).all()
    unchanged = chosen & ~out.masked & ~out.randomized
    assert abs(unchanged.sum() / n - 0.1) < 0.02 and torch.equal(out.tokens[unchanged], tokens[unchanged])
    assert torch.equal(out.tokens[~chosen], tokens[~chosen]) and torch.equal(out.coords[~chosen], coords[~chosen])
    noise = out.coords[chosen] - coords[chosen]
    assert noise.abs().max() <= 1.0 + 1e-6 and noise.abs().mean() > 0.4  # uniform in [-1, 1]: mean |x| = 0.5


def test_masking_is_fixed_by_the_seed():
    tokens, coords = _random_batch(200)

    def draw(seed):
        return mask_batch(tokens, coords, MaskingConfig(), torch.Generator().manual_seed(seed))

    a, b, c = draw(7), draw(7), draw(8)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a.chosen, c.chosen)


def _conformer_items():
    return [conformer_tokens(Conformer(atoms=a, coords=c), n) for n, (a, c) in (("e", ETHANOL), ("p", PHENOL))]


def _predict(encoder, heads, tokens, coords):
    out = encoder(tokens, coords)
    return heads.coordinates(coords, heads.pair(out.pair_delta), out.padding)


def test_coordinate_head_is_rotation_equivariant_and_ignores_padding():
    torch.manual_seed(0)
    encoder, heads = UniMolEncoder(TINY).eval(), PretrainHeads(TINY).eval()
    tokens, coords = collate_conformers(_conformer_items())
    rotation, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))
    rotation = rotation.float()
    with torch.no_grad():
        base = _predict(encoder, heads, tokens, coords)
        turned = _predict(encoder, heads, tokens, coords @ rotation.T)
        alone = _predict(encoder, heads, *collate_conformers(_conformer_items()[:1]))
    assert (base - coords).abs().max() > 1e-3  # the head moves atoms: the check below is not trivial
    torch.testing.assert_close(turned, base @ rotation.T, atol=1e-4, rtol=1e-4)
    n = alone.shape[1]  # ethanol padded in the batch predicts as ethanol alone
    torch.testing.assert_close(base[0, :n], alone[0], atol=1e-5, rtol=1e-5)


def test_a_tiny_run_learns_and_writes_a_loadable_encoder(tmp_path):
    progress: list[Progress] = []
    result = pretrain_3d(tiny(), tmp_path / "run", progress.append)
    assert (result.steps, result.resumed_from, result.train_molecules, result.held_out_molecules) == (6, 0, 36, 4)
    assert result.final_loss < result.first_loss  # the mean of steps 1–6 is below step 1's
    assert [e.step for e in result.evaluations] == [0, 3, 6] and result.evaluations[-1].atoms > 0
    assert [p.done for p in progress if p.stage == "pretrain"] == [1, 2, 3, 4, 5, 6]

    encoder = load_pretrained_3d(result.encoder_dir)
    saved = load_file(str(result.encoder_dir / WEIGHTS_FILE))
    assert encoder.config == TINY and not encoder.training and _same(encoder.state_dict(), saved)
    settings = json.loads((result.encoder_dir / CONFIG_FILE).read_text())
    assert encoder_kind("unimol").make(settings).config == TINY  # the registry's own settings
    # the checkpoint's weights are one Uni-Mol pre-training state dict: the released-weights loader reads it
    released, heads = load_unimol_checkpoint(tmp_path / "run" / CHECKPOINT_DIR / WEIGHTS_FILE)
    assert _same(released.state_dict(), saved)
    assert {h.split(".")[0] for h in heads} == {"lm_head", "pair2coord_proj", "dist_head", "encoder"}


class _Stop(Exception):
    pass


def test_resuming_after_an_interruption_gives_the_uninterrupted_weights(tmp_path):
    straight = pretrain_3d(tiny(), tmp_path / "straight")

    def crash_at_5(event: Progress) -> None:
        if event.stage == "pretrain" and event.done == 5:
            raise _Stop  # after the step-3 checkpoint, before the step-6 one

    with pytest.raises(_Stop):
        pretrain_3d(tiny(), tmp_path / "resumed", crash_at_5)
    resumed = pretrain_3d(tiny(), tmp_path / "resumed")
    assert (resumed.resumed_from, resumed.steps) == (3, 6)
    assert _same(load_file(str(straight.encoder_dir / WEIGHTS_FILE)), load_file(str(resumed.encoder_dir / WEIGHTS_FILE)))
    for name in (WEIGHTS_FILE, "optimizer.safetensors"):  # heads and AdamW moments too
        assert _same(load_file(str(tmp_path / "straight" / CHECKPOINT_DIR / name)),
                     load_file(str(tmp_path / "resumed" / CHECKPOINT_DIR / name)))
    assert straight.evaluations == resumed.evaluations

    # a shorter run continued with more steps is the same run too
    pretrain_3d(tiny(steps=2), tmp_path / "stepwise")
    continued = pretrain_3d(tiny(), tmp_path / "stepwise")
    assert continued.resumed_from == 2
    assert _same(load_file(str(straight.encoder_dir / WEIGHTS_FILE)),
                 load_file(str(continued.encoder_dir / WEIGHTS_FILE)))

    with pytest.raises(Pretrain3DError, match="other settings"):
        pretrain_3d(tiny(lr=5e-4), tmp_path / "straight")


def test_broken_molecules_are_counted_and_skipped(tmp_path):
    smiles = tmp_path / "extra.smi"
    smiles.write_text("SMILES\nCCO ethanol\nnot_a_molecule\n[H][H]\n\nc1ccccc1O\n")
    result = pretrain_3d(tiny(qm9_molecules=12, smiles_file=str(smiles), steps=2, held_out=0.0), tmp_path / "run")
    assert result.train_molecules == 12 + 2
    assert [s.source for s in result.skipped] == ["extra.smi:2", "extra.smi:3"]
    assert "invalid molecule" in result.skipped[0].reason and "no heavy atom" in result.skipped[1].reason

    skipped: list[Skipped] = []
    nan = [(0.0, 0.0, 0.0), (float("nan"), 0.0, 0.0)]
    kept = list(tokenize_conformers([("ok", *ETHANOL), ("nan", ["C", "O"], nan), ("short", ["C", "O"], nan[:1])],
                                    0, skipped))
    assert [name for name, _ in kept] == ["ok"]
    assert [s.source for s in skipped] == ["nan", "short"] and "not finite" in skipped[0].reason


def test_bad_settings_and_no_molecules_fail_early(tmp_path):
    with pytest.raises(Pretrain3DError, match="multiple of heads"):
        pretrain_3d(tiny(encoder=replace(TINY, heads=5)), tmp_path / "a")
    with pytest.raises(Pretrain3DError, match="no usable molecule"):
        pretrain_3d(tiny(), tmp_path / "b", molecules=[], skipped=[Skipped("x", "bad")])


def test_cli_pretrains_resumes_and_reports(tmp_path):
    runner = CliRunner()
    base = ["models", "pretrain-3d", "--out", str(tmp_path / "run"), "--molecules", "30", "--batch-size", "8",
            "--layers", "1", "--width", "16", "--heads", "4", "--checkpoint-every", "2", "--quiet"]
    result = runner.invoke(app, [*base, "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "pre-trained 2 steps on 28 molecules (2 held out, 0 skipped)" in result.output
    assert "held-out: masked-atom accuracy" in result.output
    assert load_pretrained_3d(tmp_path / "run" / "encoder").config.layers == 1
    result = runner.invoke(app, [*base, "--steps", "3"])
    assert result.exit_code == 0 and "pre-trained 3 steps, resumed from step 2" in result.output, result.output
    result = runner.invoke(app, [*base, "--width", "18", "--steps", "1"])
    assert result.exit_code == 2 and "error:" in result.output and "multiple of heads" in result.output

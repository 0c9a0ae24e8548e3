"""`molbridge models`: our own model weights where released ones are not available offline."""

from __future__ import annotations

from pathlib import Path

import typer

from molbridge.cli.errors import user_errors

app = typer.Typer(help="Models: pre-train our own encoders (Uni-Mol-architecture 3D, ESM-2-architecture protein).",
                  no_args_is_help=True)


def default_pretrain_3d_dir() -> Path:
    """Where `molbridge models pretrain-3d` puts its run by default (the encoder is in `encoder/`)."""
    from molbridge.cache import cache_dir

    return cache_dir() / "models" / "unimol-qm9"


@app.command("pretrain-3d")
def pretrain_3d_cmd(
    out: Path | None = typer.Option(None, "--out", help="run directory (default: the cache's models/unimol-qm9); "
                                    "rerun with the same settings to resume"),
    molecules: int = typer.Option(20_000, "--molecules", min=0, help="the first N QM9 molecules (B3LYP geometries)"),
    smiles: Path | None = typer.Option(None, "--smiles", help="also: a file of SMILES (one a line), ETKDG conformers"),
    moses: int = typer.Option(0, "--moses", min=0, help="also: a seeded MOSES subset of this size, ETKDG conformers "
                              "(~0.1 s a molecule)"),
    steps: int = typer.Option(2000, "--steps", min=0, help="total optimiser steps (~4 min on one core at the default "
                              "size); a finished run rerun is a no-op, a larger value continues it"),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    lr: float = typer.Option(3e-4, "--lr", min=0.0),
    held_out: float = typer.Option(0.05, "--held-out", min=0.0, max=0.99, help="seeded share scored, never trained on"),
    layers: int = typer.Option(4, "--layers", min=1),
    width: int = typer.Option(128, "--width", min=1, help="embedding width (a multiple of --heads)"),
    heads: int = typer.Option(8, "--heads", min=1),
    ffn: int | None = typer.Option(None, "--ffn", min=1, help="feed-forward width (default: 2 × --width)"),
    checkpoint_every: int = typer.Option(200, "--checkpoint-every", min=1, help="steps between checkpoints and "
                                         "held-out scores"),
    threads: int = typer.Option(1, "--threads", min=1, help="torch CPU threads (small molecules gain little from "
                                "more, and lose much on a busy machine)"),
    seed: int = typer.Option(0, "--seed"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Pre-train a Uni-Mol-architecture 3D encoder (masked atoms + coordinate denoising); seeded and resumable.

    The encoder directory (config.json + model.safetensors) loads with `load_pretrained_3d`; as
    `multimodal.encoder_settings` (config.json's fields) + `encoder_checkpoint` (its model.safetensors)
    it replaces Uni-Mol's released weights in training.
    """
    import torch

    from molbridge.cli.progress import progress_bars
    from molbridge.models.encoders.pretrain_3d import Pretrain3DSettings, pretrain_3d
    from molbridge.models.encoders.unimol import UniMolConfig

    torch.set_num_threads(threads)
    with user_errors(), progress_bars(not quiet) as progress:
        settings = Pretrain3DSettings(
            encoder=UniMolConfig(layers=layers, embed_dim=width, ffn_dim=ffn or 2 * width, heads=heads),
            qm9_molecules=molecules, smiles_file=str(smiles) if smiles else None, moses_molecules=moses,
            held_out=held_out, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
            checkpoint_every=checkpoint_every, eval_every=checkpoint_every)
        result = pretrain_3d(settings, out or default_pretrain_3d_dir(), progress)
    for skipped in result.skipped[:10]:
        typer.echo(f"issue: skipped {skipped.source}: {skipped.reason}", err=True)
    if len(result.skipped) > 10:
        typer.echo(f"issue: ... and {len(result.skipped) - 10} more skipped", err=True)
    resumed = f", resumed from step {result.resumed_from}" if result.resumed_from else ""
    typer.echo(f"pre-trained {result.steps} steps{resumed} on {result.train_molecules} molecules "
               f"({result.held_out_molecules} held out, {len(result.skipped)} skipped), loss {result.final_loss:.4f}, "
               f"{result.seconds:.0f} s")
    if result.held_out is not None:
        h = result.held_out
        typer.echo(f"held-out: masked-atom accuracy {h.atom_accuracy:.3f}, coordinate error {h.coord_error:.3f} Å "
                   f"(noisy input {h.noisy_coord_error:.3f} Å), loss {h.loss:.4f}")
    typer.echo(f"encoder in {result.encoder_dir}")


PRETRAIN_PROTEIN = Path(__file__).resolve().parents[3] / "configs" / "pretrain-protein.yaml"


@app.command("pretrain-protein")
def pretrain_protein_cmd(
    out: Path | None = typer.Option(None, "--out", help="run directory (default: runs/pretrain-protein); rerun with "
                                    "the same settings to resume"),
    overrides: list[str] = typer.Option([], "--set", help="override a key of configs/pretrain-protein.yaml, e.g. "
                                        "--set data.dataset=runs/sepit-data --set budget_minutes=60"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Pre-train the structure-aware ESM-2-architecture protein encoder by masked residues (`molbridge train` on
    configs/pretrain-protein.yaml: budget, resume, held-out loss on unseen clusters); final/ is an encoder
    directory for `multimodal.encoder_settings.model`."""
    from molbridge.cli.train_cmd import train

    train(PRETRAIN_PROTEIN, out, overrides, quiet)

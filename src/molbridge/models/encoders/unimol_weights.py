"""Load Uni-Mol's released weights (e.g. `mol_pre_no_h_220816.pt`) into `UniMolEncoder` by name.

A Uni-Core checkpoint is a dict whose `model` entry is the state dict (no prefix); its `args`
is an `argparse.Namespace`, the only class allowed while unpickling (`torch.load(weights_only=
True)` with that one class on the safe list), so a checkpoint carrying anything else is refused,
never executed. A safetensors file of the same state dict loads too. The sizes are read from the
weights themselves; the pre-training heads (`lm_head`, `pair2coord_proj`, `dist_head`, the pair
output norm) are set aside and named; any other missing, unexpected or misshapen weight is an
error naming it (3D-MoLM loads with `strict=False` and never looks).
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import torch

from molbridge.errors import FileFormatError, MissingResourceError
from molbridge.models.encoders.unimol import UniMolConfig, UniMolEncoder

HEAD_PREFIXES = ("lm_head.", "pair2coord_proj.", "dist_head.", "encoder.final_head_layer_norm.",
                 "classification_heads.")


def read_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in a Uni-Core `.pt` checkpoint (its `model` entry), a `.safetensors` file, or an encoder
    directory written by `molbridge models pretrain-3d`."""
    path = Path(path)
    if path.is_dir():  # an encoder directory (`molbridge models pretrain-3d`): config.json + model.safetensors
        path = path / "model.safetensors"
    if not path.is_file():
        raise MissingResourceError(f"no Uni-Mol checkpoint at {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise FileFormatError(str(path), None, f"not loadable without running code from the file ({err}); "
                              "save its 'model' state dict as safetensors") from None
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FileFormatError(str(path), None, "no state dict (expected a dict of tensors, or one under 'model')")
    return state


def config_from_state(state: dict[str, torch.Tensor], source: str) -> UniMolConfig:
    """Encoder sizes as the weights say (vocabulary, width, FFN, heads, kernels, layers)."""
    try:
        vocab, width = state["embed_tokens.weight"].shape
        layers = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("encoder.layers."))
        return UniMolConfig(layers=layers, embed_dim=width, ffn_dim=state["encoder.layers.0.fc1.weight"].shape[0],
                            heads=state["gbf_proj.linear2.weight"].shape[0],
                            kernels=state["gbf.means.weight"].shape[1], vocab_size=vocab)
    except (KeyError, ValueError) as err:
        raise FileFormatError(source, None, f"not a Uni-Mol encoder state dict (missing {err})") from None


def load_unimol_checkpoint(path: str | Path) -> tuple[UniMolEncoder, list[str]]:
    """The encoder with the checkpoint's weights, and the names of the pre-training weights set aside."""
    state = read_state(path)
    heads = sorted(k for k in state if k.startswith(HEAD_PREFIXES))
    weights = {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIXES)}
    encoder = UniMolEncoder(config_from_state(weights, str(path)))
    own = encoder.state_dict()
    missing, unexpected = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
    misshapen = [f"{k} {tuple(weights[k].shape)} (expected {tuple(own[k].shape)})"
                 for k in sorted(set(own) & set(weights)) if weights[k].shape != own[k].shape]
    if missing or unexpected or misshapen:
        problems = [f"missing: {', '.join(missing[:5])}" if missing else "",
                    f"unexpected: {', '.join(unexpected[:5])}" if unexpected else "",
                    f"misshapen: {', '.join(misshapen[:5])}" if misshapen else ""]
        raise FileFormatError(str(path), None, "weights do not fit a Uni-Mol encoder; "
                              + "; ".join(p for p in problems if p))
    encoder.load_state_dict(weights)
    return encoder, heads

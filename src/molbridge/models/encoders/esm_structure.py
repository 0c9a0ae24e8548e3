"""ESM-2 made structure-aware (SEPIT): a bias from Cα distances added to every layer's attention scores.

The sequence model is transformers' `EsmModel` (a local ESM-2 directory or hub id, or a fresh
ESM-2-architecture model of the configured size); nothing of transformers is forked. The bias is
computed once per batch: pairwise Cα distances → `kernels` Gaussian densities (means and widths
learned) → Linear–GELU–Linear → one value per head, zero for any pair where either residue has no
resolved position. It joins the pad mask in one additive (batch, heads, L, L) attention mask that
EsmModel hands unchanged to every layer (eager and SDPA attention add it to the scores; an
implementation that cannot take a float bias, FlashAttention-2, is refused). In training a whole
protein's structure is dropped at `structure_dropout` (SEPIT: 0.15), so the model also reads
sequences alone. Output: the hidden states of `feature_layer` (SEPIT: −2), pads marked.

Where we differ from SEPIT's code: its embedding-side structure term indexes the batch dimension
by residue (a bug); we add the bias to attention only. Kernel means start spread over 0-20 Å (the
range of residue contacts) instead of Uni-Mol's 0-3 Å, which fits bonded atoms, not residues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from molbridge.atomic import atomic_directory
from molbridge.errors import MolbridgeError
from molbridge.protein.residue_tokens import ESM_TOKENS, MASK, PAD, ResidueTokens

BIASABLE = ("eager", "sdpa")  # attention implementations that add a float mask to the scores
BIAS_FILE = "structure_bias.safetensors"


class EncoderSetupError(MolbridgeError, ValueError):
    """An ESM model this encoder cannot use (another vocabulary, an attention without an additive bias)."""


@dataclass(frozen=True)
class EsmStructureConfig:
    model: str | None = None  # a local ESM-2 directory or hub id; None: a fresh model of the sizes below
    layers: int = 4
    hidden: int = 128
    heads: int = 4
    ffn: int = 256
    kernels: int = 128
    structure: bool = True  # False: the plain sequence model (the ablation)
    structure_dropout: float = 0.15
    feature_layer: int = -2


class EncodedProtein(NamedTuple):
    states: torch.Tensor  # (batch, tokens, hidden)
    padding: torch.Tensor  # (batch, tokens), True = pad


def gaussian_densities(distances: torch.Tensor, means: torch.Tensor, stds: torch.Tensor) -> torch.Tensor:
    """(…,) distances → (…, K) normal densities with the given means and widths."""
    std = stds.abs() + 1e-5
    return torch.exp(-0.5 * ((distances.unsqueeze(-1) - means) / std) ** 2) / (std * (2 * torch.pi) ** 0.5)


class StructureBias(nn.Module):
    """Cα positions → one attention bias per head and residue pair; zero where a residue has no position."""

    def __init__(self, heads: int, kernels: int) -> None:
        super().__init__()
        self.means = nn.Parameter(torch.linspace(0.0, 20.0, kernels))
        self.stds = nn.Parameter(torch.full((kernels,), 2.0))
        self.project = nn.Sequential(nn.Linear(kernels, kernels), nn.GELU(), nn.Linear(kernels, heads))
        self.heads = heads

    def forward(self, coords: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """(batch, heads, L, L); one protein at a time over its positioned residues only, because the kernel
        densities take L² × kernels floats (a batch of 16 proteins of 1,000 residues at once: 8 GB)."""
        heads = self.heads
        out = torch.zeros(coords.shape[0], heads, coords.shape[1], coords.shape[1], device=coords.device)
        for row in range(coords.shape[0]):
            where = present[row].nonzero().squeeze(-1)
            if len(where) == 0:
                continue
            points = coords[row, where].float()
            bias = self.project(gaussian_densities(torch.cdist(points, points), self.means, self.stds))
            out[row][:, where.unsqueeze(1), where.unsqueeze(0)] = bias.permute(2, 0, 1).to(out.dtype)
        return out


class EsmStructureEncoder(nn.Module):
    """ESM-2 with the structure bias; forward(tokens, coords, present) → EncodedProtein."""

    def __init__(self, config: EsmStructureConfig) -> None:
        super().__init__()
        from transformers import EsmConfig, EsmModel

        saved = Path(config.model) if config.model else None
        if saved is not None and (saved / "esm").is_dir():  # our own pre-trained encoder (save_esm_structure)
            self.esm = EsmModel.from_pretrained(saved / "esm", add_pooling_layer=False)
            import json

            shapes = json.loads((saved / "encoder.json").read_text(encoding="utf-8"))
            config = replace(config, kernels=shapes["kernels"], structure=shapes["structure"])  # the saved bias's
        elif config.model:
            self.esm = EsmModel.from_pretrained(config.model, add_pooling_layer=False)
        else:
            self.esm = EsmModel(EsmConfig(
                vocab_size=len(ESM_TOKENS), mask_token_id=MASK, pad_token_id=PAD, hidden_size=config.hidden,
                num_hidden_layers=config.layers, num_attention_heads=config.heads, intermediate_size=config.ffn,
                position_embedding_type="rotary", token_dropout=True, emb_layer_norm_before=False,
                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,  # as ESM-2's released configs
                max_position_embeddings=1026, vocab_list=list(ESM_TOKENS)), add_pooling_layer=False)
        _check_usable(self.esm.config)
        self.esm.contact_head.requires_grad_(False)  # reads attention maps we never ask for; DDP must not wait on it
        esm = self.esm.config  # a loaded model's sizes, whatever the settings said
        self.config = replace(config, layers=esm.num_hidden_layers, hidden=esm.hidden_size,
                              heads=esm.num_attention_heads, ffn=esm.intermediate_size)
        heads = self.esm.config.num_attention_heads
        self.bias = StructureBias(heads, config.kernels) if config.structure else None
        if self.bias is not None and saved is not None and (saved / BIAS_FILE).is_file():
            self.bias.load_state_dict(load_file(saved / BIAS_FILE))
        self.output_dim = self.esm.config.hidden_size

    def forward(self, tokens: torch.Tensor, coords: torch.Tensor, present: torch.Tensor) -> EncodedProtein:
        return EncodedProtein(self.hidden_states(tokens, coords, present)[self.config.feature_layer], tokens == PAD)

    def hidden_states(self, tokens: torch.Tensor, coords: torch.Tensor, present: torch.Tensor
                      ) -> tuple[torch.Tensor, ...]:
        """Every layer's states (embeddings first), the structure bias in every layer's attention."""
        real = tokens != PAD
        embeds = self.esm.embeddings(input_ids=tokens, attention_mask=real.long())
        additive = self.attention_bias(real, coords, present).to(embeds.dtype)
        return self.esm(inputs_embeds=embeds, attention_mask=additive, output_hidden_states=True).hidden_states

    def attention_bias(self, real: torch.Tensor, coords: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """The additive mask every layer gets: pad keys at the float minimum, plus the structure bias (training
        drops whole proteins' bias at `structure_dropout`)."""
        lowest = torch.finfo(torch.float32).min
        additive = torch.zeros(real.shape[0], 1, 1, real.shape[1], device=real.device)
        additive = additive.masked_fill(~real[:, None, None, :], lowest)
        if self.bias is None:
            return additive
        present = present & real
        if self.training and self.config.structure_dropout:
            kept = torch.rand(real.shape[0], device=real.device) >= self.config.structure_dropout
            present = present & kept.unsqueeze(1)
        return additive + self.bias(coords, present)


def _check_usable(config: Any) -> None:
    """Refuse a model whose vocabulary is not ESM-2's alphabet or whose attention cannot add a float bias."""
    if config.vocab_size != len(ESM_TOKENS) or list(getattr(config, "vocab_list", None) or ESM_TOKENS) != \
            list(ESM_TOKENS):
        raise EncoderSetupError(f"the model's vocabulary ({config.vocab_size} tokens) is not ESM-2's alphabet")
    implementation = getattr(config, "_attn_implementation", None) or "eager"
    if implementation not in BIASABLE:
        raise EncoderSetupError(f"attention implementation {implementation!r} cannot add a structure bias to the "
                                f"scores; load the model with one of {', '.join(BIASABLE)}")


def collate_residues(items: Sequence[ResidueTokens]) -> dict[str, torch.Tensor]:
    """Right-padded batch: tokens (pad id), coordinates (zeros) and the has-a-position mask (False on pads)."""
    length = max(len(item.tokens) for item in items)
    tokens = np.full((len(items), length), PAD, dtype=np.int64)
    coords = np.zeros((len(items), length, 3), dtype=np.float32)
    present = np.zeros((len(items), length), dtype=bool)
    for row, item in enumerate(items):
        n = len(item.tokens)
        tokens[row, :n], coords[row, :n], present[row, :n] = item.tokens, item.coords, item.present
    return {"tokens": torch.from_numpy(tokens), "coords": torch.from_numpy(coords),
            "present": torch.from_numpy(present)}


def save_esm_structure(encoder: EsmStructureEncoder, target: str | Path) -> Path:
    """The encoder as a directory that `EsmStructureConfig(model=target)` loads: `esm/` (a transformers ESM
    directory), the structure bias (safetensors) and `encoder.json` (its settings); written atomically."""
    import json

    target = Path(target)
    with atomic_directory(target) as staging:
        encoder.esm.save_pretrained(staging / "esm")
        if encoder.bias is not None:
            save_file({k: v.contiguous() for k, v in encoder.bias.state_dict().items()}, staging / BIAS_FILE)
        settings = {**asdict(encoder.config), "model": None}
        (staging / "encoder.json").write_text(json.dumps(settings, indent=2) + "\n")
    return target

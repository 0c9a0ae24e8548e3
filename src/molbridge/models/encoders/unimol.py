"""A Uni-Mol-architecture 3D molecule encoder: atom tokens plus a distance-derived attention bias.

The layout follows Uni-Mol (Zhou et al., ICLR 2023), the encoder 3D-MoLM freezes: atom tokens
are embedded; every atom pair's distance is expanded over K Gaussian kernels after an affine
transform chosen by the pair's atom types, and an MLP turns that into one attention bias per
head. Each pre-LN layer adds the bias to its attention logits, and the logits (bias included)
become the next layer's bias, so the pair representation is refined layer by layer. Padding is
masked on the key side; pad rows of the output are zero.

Module and parameter names are Uni-Mol's, so its released no-H checkpoint loads by name
(`load_unimol_checkpoint`); the pre-training heads it carries are set aside, and the masked-
atom and coordinate heads that `molbridge models pretrain-3d` trains live in
:mod:`molbridge.models.encoders.pretrain_3d`. Sizes come from `UniMolConfig`: `paper()` is
Uni-Mol's (15 × 512, 64 heads), the default is a CPU size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from molbridge.chem.conformer_tokens import PAD, UNIMOL_TOKENS, ConformerTokens


@dataclass(frozen=True)
class UniMolConfig:
    """Encoder sizes; the vocabulary is Uni-Mol's (31 tokens incl. [MASK]) so its weights fit."""

    layers: int = 4
    embed_dim: int = 128
    ffn_dim: int = 256
    heads: int = 8
    kernels: int = 128
    dropout: float = 0.1
    attention_dropout: float = 0.1
    vocab_size: int = len(UNIMOL_TOKENS)

    @classmethod
    def paper(cls) -> UniMolConfig:
        """Uni-Mol's no-H encoder as 3D-MoLM uses it."""
        return cls(layers=15, embed_dim=512, ffn_dim=2048, heads=64)


class Encoded3D(NamedTuple):
    """Per-token states (batch, tokens, width), the pad mask (True = pad) and what the layers added to the pair bias."""

    states: torch.Tensor
    padding: torch.Tensor
    pair_delta: torch.Tensor  # (batch, tokens, tokens, heads); zero where either token is a pad


_PI = 3.14159  # Uni-Mol's constant (not math.pi), so released weights give its numbers exactly


class GaussianLayer(nn.Module):
    """Distances → K Gaussian densities, after an affine transform picked by the atom-type pair."""

    def __init__(self, kernels: int, edge_types: int) -> None:
        super().__init__()
        self.means = nn.Embedding(1, kernels)
        self.stds = nn.Embedding(1, kernels)
        self.mul = nn.Embedding(edge_types, 1)
        self.bias = nn.Embedding(edge_types, 1)
        nn.init.uniform_(self.means.weight, 0, 3)
        nn.init.uniform_(self.stds.weight, 0, 3)
        nn.init.constant_(self.bias.weight, 0)
        nn.init.constant_(self.mul.weight, 1)

    def forward(self, distance: torch.Tensor, edge_type: torch.Tensor) -> torch.Tensor:
        x = self.mul(edge_type).squeeze(-1) * distance + self.bias(edge_type).squeeze(-1)
        mean = self.means.weight.float().view(-1)
        std = self.stds.weight.float().view(-1).abs() + 1e-5
        z = (x.float().unsqueeze(-1) - mean) / std
        return (torch.exp(-0.5 * z * z) / (math.sqrt(2 * _PI) * std)).type_as(self.means.weight)


class NonLinearHead(nn.Module):
    def __init__(self, width: int, out: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(width, width)
        self.linear2 = nn.Linear(width, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(F.gelu(self.linear1(x)))


class SelfMultiheadAttention(nn.Module):
    """Attention with an additive per-head bias; returns the output and the biased logits."""

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim, self.dropout = heads, width // heads, dropout
        self.in_proj = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, padding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, width = x.shape
        q, k, v = self.in_proj(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        logits = (q * self.head_dim ** -0.5) @ k.transpose(-1, -2) + bias
        probabilities = logits.masked_fill(padding[:, None, None, :], float("-inf")).softmax(-1)
        probabilities = F.dropout(probabilities, self.dropout, self.training)
        out = (probabilities @ v).transpose(1, 2).reshape(b, n, width)
        return self.out_proj(out), logits


class EncoderLayer(nn.Module):
    """Pre-LN transformer layer with a pair bias (Uni-Core's TransformerEncoderLayer, post_ln off)."""

    def __init__(self, config: UniMolConfig) -> None:
        super().__init__()
        self.dropout = config.dropout
        self.self_attn = SelfMultiheadAttention(config.embed_dim, config.heads, config.attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(config.embed_dim)
        self.fc1 = nn.Linear(config.embed_dim, config.ffn_dim)
        self.fc2 = nn.Linear(config.ffn_dim, config.embed_dim)
        self.final_layer_norm = nn.LayerNorm(config.embed_dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, padding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        attended, logits = self.self_attn(self.self_attn_layer_norm(x), bias, padding)
        x = x + F.dropout(attended, self.dropout, self.training)
        hidden = F.gelu(self.fc1(self.final_layer_norm(x)))  # Uni-Mol's activation dropout is 0
        return x + F.dropout(self.fc2(hidden), self.dropout, self.training), logits


class PairEncoder(nn.Module):
    """The layer stack with its input and output norms (Uni-Mol's TransformerEncoderWithPair)."""

    def __init__(self, config: UniMolConfig) -> None:
        super().__init__()
        self.emb_layer_norm = nn.LayerNorm(config.embed_dim)
        self.final_layer_norm = nn.LayerNorm(config.embed_dim)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.layers))
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor, bias: torch.Tensor, padding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.dropout(self.emb_layer_norm(x), self.dropout, self.training)
        x = x.masked_fill(padding.unsqueeze(-1), 0.0)
        for layer in self.layers:
            x, bias = layer(x, bias, padding)
        return self.final_layer_norm(x), bias


class UniMolEncoder(nn.Module):
    """Tokens + coordinates → per-atom states; `output_dim` is what a projector reads."""

    config: UniMolConfig

    def __init__(self, config: UniMolConfig | None = None) -> None:
        super().__init__()
        self.config = config or UniMolConfig()
        c = self.config
        self.embed_tokens = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=PAD)
        self.gbf = GaussianLayer(c.kernels, c.vocab_size * c.vocab_size)
        self.gbf_proj = NonLinearHead(c.kernels, c.heads)
        self.encoder = PairEncoder(c)

    @property
    def output_dim(self) -> int:
        return self.config.embed_dim

    def forward(self, tokens: torch.Tensor, coords: torch.Tensor) -> Encoded3D:
        padding = tokens.eq(PAD)
        distance = torch.cdist(coords.float(), coords.float())
        edge_type = tokens.unsqueeze(-1) * self.config.vocab_size + tokens.unsqueeze(-2)
        bias = self.gbf_proj(self.gbf(distance, edge_type)).permute(0, 3, 1, 2).contiguous()
        states, logits = self.encoder(self.embed_tokens(tokens), bias, padding)
        states = states.masked_fill(padding.unsqueeze(-1), 0.0)
        pads = (padding.unsqueeze(-1) | padding.unsqueeze(-2)).unsqueeze(1)
        delta = (logits - bias).masked_fill(pads, 0.0)
        return Encoded3D(states, padding, delta.permute(0, 2, 3, 1))


def collate_conformers(items: list[ConformerTokens]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded token ids (pad = [PAD]) and coordinates (pad rows zero) of a batch."""
    n = max(len(item.tokens) for item in items)
    tokens = torch.full((len(items), n), PAD, dtype=torch.long)
    coords = torch.zeros((len(items), n, 3), dtype=torch.float32)
    for i, item in enumerate(items):
        tokens[i, : len(item.tokens)] = torch.from_numpy(item.tokens)
        coords[i, : len(item.tokens)] = torch.from_numpy(item.coords)
    return tokens, coords

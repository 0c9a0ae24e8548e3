"""A SchNet 3D molecule encoder (PyG's modules) giving per-atom states, behind the Uni-Mol interface.

It reads what Uni-Mol reads (`ConformerTokens`, collated by `collate_conformers`) and returns
per-position states with the same pad mask, so a projector or a multimodal model cannot tell
the two apart. The embedding, Gaussian distance expansion and interaction blocks are those of
`torch_geometric.nn.models.SchNet` (so its weight layout holds); its readout, which pools to one
energy per molecule, is left out because a projector needs every atom.

Token ids become atomic numbers, the index SchNet's 100-row embedding expects. [CLS] and [SEP]
keep their positions (the registry's `length`, and with it the soft-token count a per-position
projector gives, is that of Uni-Mol) but get rows of their own and no edges: they carry no
geometry (both sit at the origin), so the molecule never sees them. [UNK] and [MASK] get rows
of their own too: those of elements 96–99 (Cm to Es), which the vocabulary cannot produce.

The neighbour graph is built here from the dense batch, within each molecule only: no self
loops, distance < cutoff, at most `max_num_neighbors` nearest per atom. PyG's `radius_graph`
needs pyg-lib (torch-cluster in older releases), and its CPU kernel with a neighbour cap keeps
the first neighbours found rather than the nearest; one path here gives the same graph on every
install and device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from rdkit import Chem
from torch import nn

from molbridge.chem.conformer_tokens import CLS, MASK, PAD, SEP, UNIMOL_TOKENS, UNK

# Embedding rows for the non-atom tokens: elements 96–99 can't come from Uni-Mol's vocabulary.
_SPECIAL_ROWS = {UNK: 96, CLS: 97, SEP: 98, MASK: 99}


def _atomic_numbers() -> torch.Tensor:
    """Token id → SchNet embedding row: the atomic number, a dedicated row for a special, 0 for [PAD]."""
    table = Chem.GetPeriodicTable()
    rows = [_SPECIAL_ROWS.get(i, 0) if token.startswith("[") else table.GetAtomicNumber(token)
            for i, token in enumerate(UNIMOL_TOKENS)]
    assert rows[PAD] == 0
    return torch.tensor(rows, dtype=torch.long)


@dataclass(frozen=True)
class SchNetConfig:
    """SchNet sizes (PyG's defaults, three interactions); cutoff in Å."""

    hidden_channels: int = 128
    num_filters: int = 128
    num_interactions: int = 3
    num_gaussians: int = 50
    cutoff: float = 10.0
    max_num_neighbors: int = 32


class EncodedSchNet(NamedTuple):
    """Per-token states (batch, tokens, width) and the pad mask (True = pad); pad rows are zero."""

    states: torch.Tensor
    padding: torch.Tensor


class SchNetEncoder(nn.Module):
    """Tokens + coordinates → per-atom SchNet states; `output_dim` is what a projector reads."""

    config: SchNetConfig
    atomic_number: torch.Tensor

    def __init__(self, config: SchNetConfig | None = None) -> None:
        super().__init__()
        from torch_geometric.nn.models import SchNet

        self.config = config or SchNetConfig()
        c = self.config
        schnet = SchNet(hidden_channels=c.hidden_channels, num_filters=c.num_filters,
                        num_interactions=c.num_interactions, num_gaussians=c.num_gaussians, cutoff=c.cutoff,
                        max_num_neighbors=c.max_num_neighbors)
        self.embedding = schnet.embedding
        self.distance_expansion = schnet.distance_expansion
        self.interactions = schnet.interactions
        self.register_buffer("atomic_number", _atomic_numbers(), persistent=False)

    @property
    def output_dim(self) -> int:
        return self.config.hidden_channels

    def forward(self, tokens: torch.Tensor, coords: torch.Tensor) -> EncodedSchNet:
        padding = tokens.eq(PAD)
        real = ~padding
        atoms = real & tokens.ne(CLS) & tokens.ne(SEP)
        edge_index, edge_weight = self.graph(coords, atoms, real)
        z = self.atomic_number[tokens[real]]
        h = self.embedding(z)
        edge_weight = edge_weight.to(h.dtype)
        edge_attr = self.distance_expansion(edge_weight)
        for interaction in self.interactions:
            h = h + interaction(h, edge_index, edge_weight, edge_attr)
        states = h.new_zeros(*tokens.shape, h.shape[-1])
        states[real] = h
        return EncodedSchNet(states, padding)

    def graph(self, coords: torch.Tensor, atoms: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Edges (source, target) between atoms of one molecule, indexed over the real positions, and their lengths.

        Each target keeps its `max_num_neighbors` nearest sources under the cutoff; [CLS]/[SEP] and pads get none.
        """
        c = self.config
        distance = torch.cdist(coords.float(), coords.float(), compute_mode="donot_use_mm_for_euclid_dist")
        n = atoms.shape[1]
        allowed = atoms.unsqueeze(-1) & atoms.unsqueeze(-2) & ~torch.eye(n, dtype=torch.bool, device=atoms.device)
        allowed &= distance < c.cutoff
        masked = distance.masked_fill(~allowed, float("inf"))
        k = min(c.max_num_neighbors, n)
        nearest, source = masked.topk(k, dim=-1, largest=False)  # (batch, target, k)
        keep = nearest.isfinite()
        batch, target, _ = keep.nonzero(as_tuple=True)
        source = source[keep]
        flat = real.flatten().cumsum(0).sub(1).view_as(real)  # dense (batch, position) → index among real ones
        edge_index = torch.stack((flat[batch, source], flat[batch, target]))
        return edge_index, nearest[keep]

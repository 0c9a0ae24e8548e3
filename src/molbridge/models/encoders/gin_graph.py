"""The 2D graph modality: the GIN of `models.gin` read atom by atom, for soft tokens in an LLM.

A molecule's SMILES becomes its PyG graph (`chem.graph_features`, OGB-style codes); the encoder's
per-atom states are every layer's node states concatenated (the same jumping-knowledge width as
its pooled embedding), padded per batch. `model` loads a saved GIN directory — the contrastively
pre-trained one `molbridge retrieve pretrain-gin` writes (its `encoder/`) — else a fresh GIN of the
configured size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from molbridge.chem.graph_features import smiles_to_graph
from molbridge.errors import EncoderInputError, InvalidMolecule
from molbridge.records import Record


class GraphInputError(EncoderInputError):
    """A record whose molecule cannot become a graph; names the record and the reason."""


@dataclass(frozen=True)
class GINGraphConfig:
    model: str | None = None  # a saved GIN encoder directory; None: a fresh GIN of the sizes below
    hidden: int = 128
    layers: int = 4


class EncodedGraph(NamedTuple):
    states: torch.Tensor  # (batch, atoms, hidden × layers)
    padding: torch.Tensor  # (batch, atoms), True = pad


class GINGraphEncoder(nn.Module):
    def __init__(self, config: GINGraphConfig) -> None:
        super().__init__()
        from molbridge.models.gin import GINConfig, GINEncoder

        self.gin = GINEncoder.load(config.model) if config.model else GINEncoder(
            GINConfig(hidden=config.hidden, layers=config.layers))
        self.config = GINGraphConfig(config.model, self.gin.config.hidden, self.gin.config.layers)
        self.output_dim = self.gin.config.emb_dim

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor,
                membership: torch.Tensor) -> EncodedGraph:
        from torch_geometric.utils import to_dense_batch

        atoms = torch.cat(self.gin.node_states(x, edge_index, edge_attr), dim=1)
        states, real = to_dense_batch(atoms, membership)
        return EncodedGraph(states, ~real)


def graph_item(record: Record, seed: int = 0, max_atoms: int = 0):
    """The record's molecule as a PyG graph; GraphInputError when there is none or RDKit cannot read it."""
    if not record.modalities.smiles:
        raise GraphInputError(record.id, "no SMILES to build a graph from")
    try:
        return smiles_to_graph(record.modalities.smiles)
    except InvalidMolecule as err:
        raise GraphInputError(record.id, f"cannot read the molecule: {err}") from None


def collate_graphs(items: Sequence) -> dict[str, torch.Tensor]:
    from torch_geometric.data import Batch

    batch = Batch.from_data_list(list(items))
    return {"x": batch.x, "edge_index": batch.edge_index, "edge_attr": batch.edge_attr, "membership": batch.batch}

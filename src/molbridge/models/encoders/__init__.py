"""Molecule and protein encoders behind one interface, registered by name.

An encoder module maps a collated batch (keyword arguments) to per-token states and a pad mask
(True = pad) first in what it returns; its
`EncoderKind` says which record modality it reads, how one record becomes an input item
(`featurize`, raising a typed error naming the record) and how items become a batch
(`collate`). A multimodal model, a training stage or a benchmark asks the registry, so a new
encoder is a registration here, not a branch elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from molbridge.chem.conformer_tokens import MAX_ATOMS, ConformerInputError, conformer_tokens
from molbridge.models.encoders.esm_structure import EsmStructureConfig, EsmStructureEncoder, collate_residues
from molbridge.models.encoders.gin_graph import GINGraphConfig, GINGraphEncoder, collate_graphs, graph_item
from molbridge.models.encoders.schnet import SchNetConfig, SchNetEncoder
from molbridge.models.encoders.unimol import UniMolConfig, UniMolEncoder, collate_conformers
from molbridge.models.encoders.vit import ViTImageConfig, ViTImageEncoder, collate_images, image_item
from molbridge.protein.residue_tokens import residue_tokens
from molbridge.records import Record


@dataclass(frozen=True)
class EncoderKind:
    """What an encoder reads and how records reach it; `placeholder` marks its soft tokens in a prompt."""

    name: str
    modality: str
    placeholder: str
    config: type
    build: Callable[[Any], Any]  # config → an nn.Module with `output_dim` and `config`
    featurize: Callable[..., Any]  # (record, seed, max_atoms=256) → item
    collate: Callable[[Sequence[Any]], dict[str, torch.Tensor]]  # items → the encoder's keyword arguments
    length: Callable[[Any], int]  # encoder positions of one item (soft tokens of a per-position projector)
    label: str = "Molecule"  # what a prompt calls the soft tokens: "…\nMolecule: <mol><mol>…"

    def make(self, settings: dict[str, Any] | None = None) -> Any:
        """A fresh encoder (an nn.Module with `output_dim` and `config`) from JSON-able settings."""
        try:
            return self.build(self.config(**(settings or {})))
        except TypeError as err:
            raise ValueError(f"encoder {self.name!r}: {err}") from None

    def settings_of(self, module: Any) -> dict[str, Any]:
        return asdict(module.config)


def _conformer_item(record: Record, seed: int, max_atoms: int = MAX_ATOMS):
    conformer = record.modalities.conformer
    if conformer is None:
        raise ConformerInputError(record.id, "no conformer (build the data with conformers: true)")
    return conformer_tokens(conformer, record.id, seed=seed, max_atoms=max_atoms)


def _residue_item(record: Record, seed: int, max_atoms: int = MAX_ATOMS):
    """ESM's tokens and Cα positions (`max_atoms` caps conformers only: a protein is cut at ESM's 1022 residues)."""
    return residue_tokens(record)


def _collate_conformers(items: Sequence[Any]) -> dict[str, torch.Tensor]:
    return dict(zip(("tokens", "coords"), collate_conformers(list(items)), strict=True))


# SchNet reads Uni-Mol's items and batches, [CLS]/[SEP] included, so the two swap without touching the data.
ENCODERS: dict[str, EncoderKind] = {
    "unimol": EncoderKind("unimol", "conformer", "<mol>", UniMolConfig, UniMolEncoder, _conformer_item,
                          _collate_conformers, lambda item: len(item.tokens)),
    "schnet": EncoderKind("schnet", "conformer", "<mol>", SchNetConfig, SchNetEncoder, _conformer_item,
                          _collate_conformers, lambda item: len(item.tokens)),
    "esm_structure": EncoderKind("esm_structure", "protein", "<protein>", EsmStructureConfig, EsmStructureEncoder,
                                 _residue_item, collate_residues, lambda item: len(item.tokens), label="Protein"),
    "vit": EncoderKind("vit", "image", "<image>", ViTImageConfig, ViTImageEncoder, image_item, collate_images,
                       lambda item: item.positions, label="Image"),
    "gin": EncoderKind("gin", "graph", "<mol>", GINGraphConfig, GINGraphEncoder, graph_item, collate_graphs,
                       lambda item: int(item.num_nodes)),
}


def encoder_kind(name: str) -> EncoderKind:
    try:
        return ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; registered: {', '.join(sorted(ENCODERS))}") from None

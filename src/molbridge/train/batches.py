"""Token ids, labels and the order of micro-batches: a pure function of the examples, the seed and the step.

Why a planned order instead of a shuffling DataLoader: the micro-batch at any global position is
computable without replaying the ones before it, so a resumed run (or any rank of a distributed
one) continues on exactly the batches an uninterrupted run would have seen.

Length-grouped batching (the default) shuffles, cuts the permutation into windows of 50 batches,
sorts each window by length and shuffles the resulting batches: batches hold examples of similar
length (little padding) and the order stays random. Every token is counted twice — real tokens
and padded slots — so throughput claims say which they mean.

Packed batching plans the same micro-batches and concatenates each one's examples into rows
(`collate_packed`): the step learns from exactly the same examples, only the tensor layout changes,
so its loss is the length-grouped loss and the two are comparable for speed alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from molbridge.models.causal_lm import encode_prompt
from molbridge.train.examples import Example

IGNORE = -100
WINDOW_BATCHES = 50


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # causal: aligned with input_ids; seq2seq: the decoder targets
    item: Any = field(default=None, compare=False, repr=False)  # the example's encoder input, if any


def encode(examples: Sequence[Example], tokenizer, max_length: int, *, loss_on: str = "answer",
           seq2seq: bool = False) -> tuple[list[Encoded], list[str]]:
    """Encoded examples and a problem naming each one left out over `max_length` (never cut); an example without
    a prompt (a held-out one answered empty) has no loss to compute and is skipped: it was named where it lost
    its prompt."""
    eos = tokenizer.eos_token_id
    encoded, problems = [], []
    for example in examples:
        if example.prompt is None:
            continue
        answer = tokenizer.encode(example.answer, add_special_tokens=False) + ([eos] if eos is not None else [])
        if seq2seq:
            prompt = tokenizer.encode(example.prompt)
            total = max(len(prompt), len(answer))
            item = Encoded(prompt, answer, example.item)
        else:
            prompt = encode_prompt(tokenizer, example.prompt)
            total = len(prompt) + len(answer)
            labels = ([IGNORE] * len(prompt) if loss_on == "answer" else list(prompt)) + answer
            item = Encoded(prompt + answer, labels, example.item)
        if total > max_length:
            problems.append(f"example {example.id}: {total} tokens, over max_length {max_length}; left out")
            continue
        encoded.append(item)
    return encoded, problems


def learned_tokens(item: Encoded, seq2seq: bool = False) -> int:
    """The answer tokens an example adds to the loss (causal: labels after the first position, shifted)."""
    labels = item.labels if seq2seq else item.labels[1:]
    return sum(1 for label in labels if label != IGNORE)


def epoch_plan(lengths: Sequence[int], batch_size: int, seed: int, epoch: int, grouped: bool) -> list[list[int]]:
    """The micro-batches (example indices) of one epoch; the same for the same arguments everywhere."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if not grouped:
        return [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    window = batch_size * WINDOW_BATCHES
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window].tolist(), key=lambda i: (-lengths[i], i))
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


class BatchPlan:
    """Micro-batch `m` of the whole run (epochs follow one another), computed on demand."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, grouped: bool) -> None:
        self.lengths, self.batch_size, self.seed, self.grouped = list(lengths), batch_size, seed, grouped
        self.per_epoch = len(epoch_plan(self.lengths, batch_size, seed, 0, grouped))
        self._epoch, self._plan = 0, epoch_plan(self.lengths, batch_size, seed, 0, grouped)

    def __getitem__(self, m: int) -> list[int]:
        epoch, index = divmod(m, self.per_epoch)
        if epoch != self._epoch:
            self._epoch, self._plan = epoch, epoch_plan(self.lengths, self.batch_size, self.seed, epoch, self.grouped)
        return self._plan[index]

    def epoch_of(self, m: int) -> float:
        return m / self.per_epoch


def collate(items: Sequence[Encoded], pad_id: int, *, seq2seq: bool = False) -> dict[str, torch.Tensor]:
    """Right-padded tensors (labels padded with IGNORE); `real_tokens` and `padded_tokens` count the batch."""
    width = max(len(i.input_ids) for i in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    label_width = max(len(i.labels) for i in items) if seq2seq else width
    labels = torch.full((len(items), label_width), IGNORE, dtype=torch.long)
    for row, item in enumerate(items):
        ids[row, :len(item.input_ids)] = torch.tensor(item.input_ids)
        mask[row, :len(item.input_ids)] = 1
        labels[row, :len(item.labels)] = torch.tensor(item.labels)
    real = int(mask.sum()) + (sum(len(i.labels) for i in items) if seq2seq else 0)
    padded = ids.numel() + (labels.numel() if seq2seq else 0)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels,
            "real_tokens": torch.tensor(real), "padded_tokens": torch.tensor(padded)}


def pack_rows(lengths: Sequence[int], row_tokens: int | None) -> list[list[int]]:
    """Rows of item indices, each at most `row_tokens` long (None: everything in one row), first fit by decreasing
    length: few rows and little padding, the same rows for the same lengths (a resumed run packs alike)."""
    if row_tokens is None:
        return [list(range(len(lengths)))]
    rows: list[list[int]] = []
    free: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        fit = next((r for r, room in enumerate(free) if room >= lengths[i]), None)
        if fit is None:
            rows.append([i])
            free.append(row_tokens - lengths[i])
        else:
            rows[fit].append(i)
            free[fit] -= lengths[i]
    return rows


def collate_packed(items: Sequence[Encoded], pad_id: int, row_tokens: int | None) -> dict[str, torch.Tensor]:
    """Causal examples concatenated into rows of at most `row_tokens`, right-padded, with no `attention_mask`.

    `position_ids` restart at 0 with every example (and with the padding, a sequence of its own after them): that
    is how transformers keeps examples apart when no 2D mask is given, a block-causal mask for sdpa and eager
    (`masking_utils.find_packed_sequence_indices`) and variable-length kernels for FlashAttention-2 (one row only).
    Each example's first label is IGNORE, so no token is learned from the example before it: the learned labels are
    exactly those of the unpacked batch.
    """
    rows = [[items[i] for i in row] for row in pack_rows([len(i.input_ids) for i in items], row_tokens)]
    width = max(sum(len(i.input_ids) for i in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full_like(ids, IGNORE)
    positions = torch.zeros_like(ids)
    for r, row in enumerate(rows):
        start = 0
        for item in row:
            end = start + len(item.input_ids)
            ids[r, start:end] = torch.tensor(item.input_ids)
            labels[r, start + 1:end] = torch.tensor(item.labels[1:])
            positions[r, start:end] = torch.arange(end - start)
            start = end
        positions[r, start:] = torch.arange(width - start)
    real = sum(len(i.input_ids) for i in items)
    return {"input_ids": ids, "labels": labels, "position_ids": positions,
            "real_tokens": torch.tensor(real), "padded_tokens": torch.tensor(ids.numel())}

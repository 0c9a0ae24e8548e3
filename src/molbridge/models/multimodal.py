"""Soft tokens in any causal LM: an encoder and a projector fill the placeholder positions of a prompt.

A prompt marks where a molecule goes with its encoder's placeholder (`<mol>`), added to the
tokenizer as one special token. Written once, it is expanded to as many positions as the
projector emits for that input (the Q-Former's queries, or one per encoder position for linear
and MLP projectors); a prompt that already holds exactly that many (3D-MoLM's `<mol>`×8) is
taken as is; any other count is a `PlaceholderError` naming the example. The LLM's embeddings of
the prompt are computed, and the placeholder rows are replaced, in order, by the projected
encoder states: nothing else changes, so a text-only prompt embeds exactly as the plain LM.

Batched generation pads prompts on the left (3D-MoLM pads on the right, so its shorter prompts
continue after pad tokens); a batch gives the same text as one prompt at a time (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from molbridge.errors import MolbridgeError
from molbridge.models.causal_lm import check_generation_arguments, decode_batch, decoding_config, encode_prompt
from molbridge.models.encoders import EncoderKind
from molbridge.models.projectors import Projector
from molbridge.progress import ProgressFn, report


class PlaceholderError(MolbridgeError, ValueError):
    """A prompt whose placeholders do not match the soft tokens its input gives; names the example."""


def add_placeholder(tokenizer, llm: Any, placeholder: str) -> int:
    """The placeholder's token id, adding it as a special token (and an embedding row) when new."""
    if placeholder not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [placeholder]},
                                     replace_extra_special_tokens=False)
    if len(tokenizer) > llm.get_input_embeddings().num_embeddings:
        llm.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    return int(tokenizer.convert_tokens_to_ids(placeholder))


def expand_placeholders(ids: list[int], placeholder_id: int, count: int, example_id: str) -> list[int]:
    """`ids` with its one placeholder widened to `count` positions (or as is when it already has `count`)."""
    found = ids.count(placeholder_id)
    if found == count:
        return ids
    if found == 1:
        at = ids.index(placeholder_id)
        return ids[:at] + [placeholder_id] * count + ids[at + 1:]
    raise PlaceholderError(f"example {example_id!r}: the prompt holds {found} placeholders; its input gives "
                           f"{count} soft tokens (write the placeholder once, or exactly {count} times)")


class MultimodalLM(nn.Module):
    """A causal LM (plain or PEFT-wrapped) reading one encoder input per example through a projector."""

    llm: Any  # a transformers causal LM, or a PEFT model around one
    encoder: Any  # what `kind.make` builds

    def __init__(self, llm: Any, tokenizer, encoder: Any, projector: Projector, kind: EncoderKind) -> None:
        super().__init__()
        self.llm, self.encoder, self.projector, self.kind = llm, encoder, projector, kind
        self.tokenizer = tokenizer
        self.placeholder_id = add_placeholder(tokenizer, llm, kind.placeholder)

    def train(self, mode: bool = True) -> MultimodalLM:
        """Train mode, except a frozen encoder, which keeps its dropout off (3D-MoLM's frozen Uni-Mol)."""
        super().train(mode)
        if not any(p.requires_grad for p in self.encoder.parameters()):
            self.encoder.eval()
        return self

    def soft_count(self, item: Any) -> int:
        """Soft tokens the projector gives for one encoder input."""
        return self.projector.num_tokens or self.kind.length(item)

    def prompt_ids(self, prompt: str, item: Any, example_id: str) -> list[int]:
        return expand_placeholders(encode_prompt(self.tokenizer, prompt), self.placeholder_id,
                                   self.soft_count(item), example_id)

    def soft_tokens(self, encoder_batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        states, padding = self.encoder(**encoder_batch)[:2]
        return self.projector(states, padding)

    def inputs_embeds(self, input_ids: torch.Tensor, encoder_batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The LLM's input embeddings with each row's placeholders replaced by that row's soft tokens."""
        soft, soft_padding = self.soft_tokens(encoder_batch)
        embeds = self.llm.get_input_embeddings()(input_ids)
        where = input_ids == self.placeholder_id
        wanted, found = (~soft_padding).sum(1), where.sum(1)
        if not torch.equal(wanted.cpu(), found.cpu()):
            row = int(torch.nonzero(wanted != found)[0, 0])
            raise PlaceholderError(f"batch row {row}: {int(found[row])} placeholder positions for "
                                   f"{int(wanted[row])} soft tokens")
        return embeds.masked_scatter(where.unsqueeze(-1), soft[~soft_padding].to(embeds.dtype))

    @torch.inference_mode()
    def generate(self, prompts: Sequence[str], items: Sequence[Any], ids: Sequence[str], *, max_new_tokens: int = 128,
                 batch_size: int = 8, stop: Sequence[str] = (), progress: ProgressFn | None = None,
                 num_beams: int = 1, temperature: float | None = None, seed: int = 0) -> list[str]:
        """Continuations (new text, cut at the first stop string) as `causal_lm.generate` makes them: greedy,
        beam search or seeded sampling, batched by length, left-padded."""
        check_generation_arguments(prompts, max_new_tokens, batch_size, stop)
        encoded = [self.prompt_ids(p, item, i) for p, item, i in zip(prompts, items, ids, strict=True)]
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        config = decoding_config(self.llm, self.tokenizer, max_new_tokens, num_beams=num_beams,
                                 temperature=temperature, seed=seed)
        device = self.llm.get_input_embeddings().weight.device
        results = [""] * len(prompts)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = self.tokenizer.pad({"input_ids": [encoded[i] for i in rows]}, padding_side="left",
                                       return_tensors="pt").to(device)
            encoder_batch = {k: t.to(device) for k, t in self.kind.collate([items[i] for i in rows]).items()}
            embeds = self.inputs_embeds(batch["input_ids"], encoder_batch)
            texts = decode_batch(self.llm, self.tokenizer, {"inputs_embeds": embeds,
                                                            "attention_mask": batch["attention_mask"]},
                                 config, stop, prompt_len=0)
            for i, text in zip(rows, texts, strict=True):
                results[i] = text
            report(progress, "generate", start + len(rows), len(prompts), unit="prompts")
        return results

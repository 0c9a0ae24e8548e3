"""A small T5 encoder-decoder with fresh weights and SmolLM2's tokenizer: the offline seq2seq model.

ChEBI-20-MM compares causal LMs with T5-family models; no T5 checkpoint ships offline, so the grid
(and the tests) train one from scratch within their budget. SmolLM2's BPE vocabulary reads SMILES,
SELFIES and captions alike; the chat template is dropped because an encoder-decoder reads the bare request.
A user's own T5 (a local `save_pretrained` directory) replaces it wherever a model path is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ScratchT5:
    d_model: int = 256
    d_kv: int = 32
    d_ff: int = 1024
    layers: int = 4
    heads: int = 8


def scratch_t5(target: str | Path, sizes: ScratchT5 = ScratchT5(), *, seed: int = 0) -> Path:
    """Save a fresh T5 of `sizes` with SmolLM2's tokenizer into `target` (kept if it is there already)."""
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    from molbridge.atomic import atomic_directory
    from molbridge.models.causal_lm import ensure_default_model

    target = Path(target)
    if (target / "config.json").is_file():
        return target
    tokenizer = AutoTokenizer.from_pretrained(ensure_default_model())
    tokenizer.chat_template = None
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    config = T5Config(vocab_size=len(tokenizer),  # type: ignore[call-arg]  # token ids go through **kwargs
                      d_model=sizes.d_model, d_kv=sizes.d_kv, d_ff=sizes.d_ff,
                      num_layers=sizes.layers, num_heads=sizes.heads, decoder_start_token_id=pad, pad_token_id=pad,
                      eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    with atomic_directory(target) as staging:
        T5ForConditionalGeneration(config).save_pretrained(staging)
        tokenizer.save_pretrained(staging)
    return target

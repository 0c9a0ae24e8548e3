"""A tiny real Llama (random weights, SmolLM2's tokenizer and chat template) so training tests take seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def make_tiny_llama(target: Path) -> Path:
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from molbridge.models.causal_lm import ensure_default_model

    tokenizer = AutoTokenizer.from_pretrained(ensure_default_model())
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def chebi20_tiny(tmp_path: Path, n: int = 24, source: str = "validation.txt") -> Path:
    """The first `n` records of a ChEBI-20 split, read from ../shared (never copied into the repo)."""
    lines = (SHARED / "chebi20" / source).read_text().splitlines()
    path = tmp_path / f"chebi20-{n}.txt"
    path.write_text("\n".join(lines[:n + 1]) + "\n")
    return path

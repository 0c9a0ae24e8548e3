"""The answer-only loss is transformers' loss, the schedule is transformers' schedule."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, get_cosine_schedule_with_warmup

from molbridge.train.batches import collate, encode, learned_tokens
from molbridge.train.checkpoints import CosineWithWarmup
from molbridge.train.config import TrainConfig
from molbridge.train.examples import Example
from molbridge.train.modeling import AnswerLoss, load_for_training, load_tokenizer


@pytest.mark.parametrize("method", ["lora", "full"])
def test_answer_only_loss_equals_transformers_labels_loss(tiny_llama, method) -> None:
    config = TrainConfig(model=str(tiny_llama), task="sft", method=method, data={"train": "x"})
    tokenizer = load_tokenizer(config)
    model, seq2seq = load_for_training(config)
    model.eval()  # no dropout: both paths see the same network
    examples = [Example("a", "t", "text", "Describe CCO:", "ethanol, a primary alcohol"),
                Example("b", "t", "text", "Describe c1ccccc1 in a few words please:", "benzene")]
    encoded, _ = encode(examples, tokenizer, 128)
    batch = collate(encoded, tokenizer.pad_token_id)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}
    ours = AnswerLoss(model, seq2seq)(**inputs)  # a sum over the answer tokens; transformers' is their mean
    theirs = model(**inputs).loss
    answer_tokens = sum(learned_tokens(e) for e in encoded)
    assert answer_tokens == int((inputs["labels"][:, 1:] != -100).sum())
    assert torch.allclose(ours / answer_tokens, theirs, rtol=1e-5, atol=1e-6)
    assert not seq2seq


def test_lora_trains_only_adapters(tiny_llama) -> None:
    model, _ = load_for_training(TrainConfig(model=str(tiny_llama), task="sft", data={"train": "x"}))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    full = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(tiny_llama).parameters())
    assert sum(p.numel() for n, p in model.named_parameters() if p.requires_grad) < 0.2 * full


def test_cosine_schedule_matches_transformers() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    reference = get_cosine_schedule_with_warmup(torch.optim.SGD([param], lr=1.0), 7, 60)
    ours = CosineWithWarmup(7, 60)
    for step in range(70):
        assert ours(step) == pytest.approx(reference.lr_lambdas[0](step), abs=1e-12)

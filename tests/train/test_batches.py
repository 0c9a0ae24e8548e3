"""Token encoding, the planned micro-batch order, padding and packing: what exact resume, fair token counts and
packed rows that learn what padded batches learn rest on."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from molbridge.train.batches import IGNORE, BatchPlan, collate, collate_packed, encode, epoch_plan, pack_rows
from molbridge.train.config import TrainConfig
from molbridge.train.examples import Example


def test_every_example_once_per_epoch_and_plans_repeat() -> None:
    lengths = [5, 50, 7, 33, 12, 90, 3, 41, 8, 64, 22] * 20
    for grouped in (True, False):
        plan = epoch_plan(lengths, 8, seed=3, epoch=1, grouped=grouped)
        flat = sorted(i for batch in plan for i in batch)
        assert flat == list(range(len(lengths)))
        assert plan == epoch_plan(lengths, 8, seed=3, epoch=1, grouped=grouped)
        assert plan != epoch_plan(lengths, 8, seed=3, epoch=2, grouped=grouped)


def test_length_grouping_cuts_padding() -> None:
    lengths = [(i * 37) % 200 + 1 for i in range(800)]

    def padded(plan):
        return sum(len(b) * max(lengths[i] for i in b) for b in plan)

    grouped = padded(epoch_plan(lengths, 8, seed=0, epoch=0, grouped=True))
    plain = padded(epoch_plan(lengths, 8, seed=0, epoch=0, grouped=False))
    assert grouped < 0.75 * plain


def test_batch_plan_is_random_access_across_epochs() -> None:
    lengths = list(range(1, 30))
    plan = BatchPlan(lengths, 4, seed=1, grouped=True)
    sequential = [plan[m] for m in range(3 * plan.per_epoch)]
    fresh = BatchPlan(lengths, 4, seed=1, grouped=True)
    assert [fresh[m] for m in reversed(range(3 * plan.per_epoch))] == sequential[::-1]


class _Tok:
    """Character-level stand-in exposing the three tokenizer calls `encode` makes (ids are code points)."""

    eos_token_id = 0
    bos_token = None

    def encode(self, text, add_special_tokens=True):
        return [ord(c) for c in text]


def test_answer_only_labels_and_over_length_is_left_out_with_reason() -> None:
    examples = [Example("a", "t", "text", "Q: ", "yes"), Example("b", "t", "text", "x" * 40, "no")]
    encoded, problems = encode(examples, _Tok(), max_length=20)
    assert len(encoded) == 1 and problems == ["example b: 43 tokens, over max_length 20; left out"]
    item = encoded[0]
    assert item.input_ids == [ord(c) for c in "Q: yes"] + [0]
    assert item.labels == [IGNORE] * 3 + [ord(c) for c in "yes"] + [0]
    everything, _ = encode(examples[:1], _Tok(), max_length=20, loss_on="all")
    assert everything[0].labels == everything[0].input_ids


def test_collate_pads_right_and_counts_tokens() -> None:
    encoded, _ = encode([Example("a", "t", "text", "ab", "c"), Example("b", "t", "text", "abcdef", "g")], _Tok(), 50)
    batch = collate(encoded, pad_id=9)
    assert batch["input_ids"].shape == (2, 8)
    assert batch["input_ids"][0].tolist()[4:] == [9, 9, 9, 9]
    assert batch["labels"][0].tolist()[4:] == [IGNORE] * 4
    assert batch["attention_mask"].sum() == 12 == int(batch["real_tokens"])
    assert int(batch["padded_tokens"]) == 16


def test_pack_rows_fills_first_fit_by_decreasing_length() -> None:
    assert pack_rows([5, 9, 3, 6, 2], row_tokens=10) == [[1], [3, 2], [0, 4]]
    assert pack_rows([5, 9, 3], row_tokens=None) == [[0, 1, 2]]


def test_collate_packed_restarts_positions_and_never_learns_across_examples() -> None:
    examples = [Example("a", "t", "text", "ab", "c"), Example("b", "t", "text", "abcdef", "g"),
                Example("c", "t", "text", "x", "y")]
    encoded, _ = encode(examples, _Tok(), 50, loss_on="all")
    batch = collate_packed(encoded, pad_id=9, row_tokens=12)
    assert "attention_mask" not in batch  # transformers reads the packing from position_ids only without one
    assert batch["input_ids"].tolist() == [[ord(c) for c in "abcdefg"] + [0] + [ord(c) for c in "abc"] + [0],
                                           [ord(c) for c in "xy"] + [0] + [9] * 9]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3], [0, 1, 2, *range(9)]]
    # each example's first token is not learned from the one before it, as in a padded batch after the shift
    assert batch["labels"][0].tolist()[7:] == [0, IGNORE, ord("b"), ord("c"), 0]
    learned = int((batch["labels"][:, 1:] != IGNORE).sum())
    assert learned == int((collate(encoded, pad_id=9)["labels"][:, 1:] != IGNORE).sum())
    assert int(batch["real_tokens"]) == 15 and int(batch["padded_tokens"]) == 24


@pytest.fixture(scope="module")
def mixed_examples() -> list[Example]:
    return [Example("a", "t", "text", "Describe CCO:", "ethanol, a primary alcohol"),
            Example("b", "t", "text", "Describe c1ccccc1 in a few words please:", "benzene"),
            Example("c", "t", "text", "Name CC(=O)O:", "acetic acid"),
            Example("d", "t", "text", "What is O?", "water")]


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_each_packed_example_has_its_unpacked_loss(tiny_llama, mixed_examples, attention, one_torch_thread) -> None:
    from transformers import AutoModelForCausalLM

    from molbridge.train.modeling import load_tokenizer

    tokenizer = load_tokenizer(TrainConfig(model=str(tiny_llama), task="sft", data={"train": "x"}))
    model = AutoModelForCausalLM.from_pretrained(tiny_llama, attn_implementation=attention, dtype=torch.float32)
    model.eval()
    encoded, _ = encode(mixed_examples, tokenizer, 128, loss_on="all")
    packed = collate_packed(encoded, tokenizer.pad_token_id, row_tokens=None)  # one row: every boundary is crossed

    def per_example(logits: torch.Tensor, labels: torch.Tensor) -> list[float]:
        return [float(F.cross_entropy(logits[i, :-1], labels[i, 1:], ignore_index=IGNORE))
                for i in range(len(labels))]

    with torch.no_grad():
        alone = [per_example(model(input_ids=torch.tensor([e.input_ids])).logits, torch.tensor([e.labels]))[0]
                 for e in encoded]
        ids, positions = packed["input_ids"], packed["position_ids"]
        logits = model(input_ids=ids, position_ids=positions, use_cache=False).logits
        blind = model(input_ids=ids, use_cache=False).logits  # one long sequence: later examples see earlier ones
    assert pack_rows([len(e.input_ids) for e in encoded], None) == [list(range(len(encoded)))]  # in order: cut back
    ends = list(itertools.accumulate(len(e.input_ids) for e in encoded))
    spans = list(zip([0, *ends], ends, strict=False))
    labels = [torch.tensor([e.labels]) for e in encoded]
    assert [per_example(logits[:, a:b], y)[0] for (a, b), y in zip(spans, labels, strict=True)] \
        == pytest.approx(alone, rel=1e-5, abs=1e-6)
    unmasked = [per_example(blind[:, a:b], y)[0] for (a, b), y in zip(spans, labels, strict=True)]
    assert unmasked[1:] != pytest.approx(alone[1:], rel=1e-3)  # so the equality above is the packing's doing


@pytest.mark.parametrize("loss_on", ["answer", "all"])
def test_packed_answer_loss_equals_the_padded_batch_loss(tiny_llama, mixed_examples, loss_on,
                                                         one_torch_thread) -> None:
    from molbridge.train.modeling import AnswerLoss, load_for_training, load_tokenizer

    config = TrainConfig(model=str(tiny_llama), task="sft", data={"train": "x"}, lora={"dropout": 0.0})
    tokenizer = load_tokenizer(config)
    model, seq2seq = load_for_training(config)
    loss = AnswerLoss(model, seq2seq)
    encoded, _ = encode(mixed_examples, tokenizer, 128, loss_on=loss_on)
    padded = {k: v for k, v in collate(encoded, tokenizer.pad_token_id).items() if k not in ("real_tokens",
                                                                                           "padded_tokens")}
    packed = collate_packed(encoded, tokenizer.pad_token_id, row_tokens=40)
    assert len(packed["input_ids"]) > 1  # several rows, several examples in one
    with torch.no_grad():
        assert float(loss(packed["input_ids"], labels=packed["labels"], position_ids=packed["position_ids"])) \
            == pytest.approx(float(loss(**padded)), rel=1e-5)


def test_packing_is_refused_where_examples_carry_encoder_inputs() -> None:
    with pytest.raises(ValueError, match="batching 'packed'"):
        TrainConfig(task="instructions", data={"dataset": "x"}, batching="packed", multimodal={"stage": "llm"})

"""Token encoding, the planned micro-batch order and padding: what exact resume and fair token counts rest on."""

from __future__ import annotations

from molbridge.train.batches import IGNORE, BatchPlan, collate, encode, epoch_plan
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

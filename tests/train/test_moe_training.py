"""Training with experts (`moe:`): the answer loss carries the weighted balance loss, LoRA reaches every expert
and the routers train, and the saved run reloads into the same upcycled model."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from molbridge.models.moe import moe_blocks, total_balance_loss
from molbridge.train.config import TrainConfigError, load_train_config
from molbridge.train.loop import train
from molbridge.train.modeling import AnswerLoss, load_for_training, load_trained
from tests.train.test_resume import config_file

MOE = {"experts": 2, "top_k": 1, "balance_weight": 0.5}


def test_the_loss_adds_the_weighted_balance_loss_per_answer_token(tmp_path, tiny_llama) -> None:
    config = load_train_config(config_file(tmp_path, tiny_llama, moe=MOE))
    model, _ = load_for_training(config)
    loss = AnswerLoss(model, False)
    ids = torch.randint(0, 100, (2, 7), generator=torch.Generator().manual_seed(0))
    labels = ids.clone()
    labels[:, :4] = -100
    mask = torch.ones_like(ids)
    total = loss(ids, mask, labels=labels)
    balance = total_balance_loss(model)
    answer = loss._answer_loss(ids, mask, labels=labels)
    torch.testing.assert_close(total, answer + 0.5 * balance * 6)  # 2 rows × 3 learned positions after the shift
    loss.eval()  # a held-out loss is the answers' alone, comparable with a dense run's
    with torch.no_grad():
        torch.testing.assert_close(loss(ids, mask, labels=labels), loss._answer_loss(ids, mask, labels=labels))
    assert all(block.balance is None for block in moe_blocks(model))


def test_a_moe_run_trains_routers_and_expert_adapters_and_reloads(tmp_path, tiny_llama) -> None:
    config = load_train_config(config_file(tmp_path, tiny_llama, moe=MOE, max_steps=4, save_every=2),
                               out=str(tmp_path / "run"))
    train(config)
    saved = load_file(str(tmp_path / "run" / "final" / "adapter_model.safetensors"))
    layers = len([k for k in saved if k.endswith("mlp.router.weight")])
    assert layers > 0 and any(".mlp.experts.1." in k and "lora_A" in k for k in saved)
    model, _, info = load_trained(tmp_path / "run")
    assert info["moe"]["experts"] == 2 and len(moe_blocks(model)) == layers
    router = moe_blocks(model)[0].router.weight
    trained = next(v for k, v in saved.items() if k.endswith("layers.0.mlp.router.weight"))
    assert torch.equal(router, trained)  # the trained router, not a fresh one
    again, _, _ = load_trained(tmp_path / "run")
    ids = torch.randint(0, 100, (1, 6), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again(ids).logits)


@pytest.mark.parametrize("extra, message", [
    ({"moe": {"experts": 2, "top_k": 3}}, "over moe.experts"),
    ({"moe": {"experts": 2}, "method": "full", "lora": None}, "needs method 'lora'"),
])
def test_moe_settings_are_checked(tmp_path, tiny_llama, extra, message) -> None:
    path = config_file(tmp_path, tiny_llama, **extra)
    if extra.get("lora", 0) is None:
        import yaml

        data = yaml.safe_load(path.read_text())
        data.pop("lora")
        path.write_text(yaml.safe_dump(data))
    with pytest.raises(TrainConfigError, match=message):
        load_train_config(path)

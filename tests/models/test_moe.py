"""MoE upcycling (SEPIT stage 2): identical experts reproduce the dense model, the balance loss has its known
values, capacity drops and counts tokens, the router learns through top-1, LoRA reaches every expert."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import AutoModelForCausalLM

from molbridge.models.moe import (
    MoEError,
    MoESettings,
    UpcycledMLP,
    balance_loss,
    moe_blocks,
    parameter_counts,
    total_balance_loss,
    upcycle,
)


@pytest.fixture
def dense(tiny_llama):
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_pretrained(tiny_llama).eval()


def batch(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 100, (3, 9), generator=generator)
    mask = torch.ones_like(ids)
    mask[0, :4] = 0  # left padding
    return {"input_ids": ids, "attention_mask": mask}


def test_identical_experts_reproduce_the_dense_model_at_initialisation(dense) -> None:
    inputs = batch()
    with torch.no_grad():
        expected = dense(**inputs).logits
        top1 = upcycle(dense, MoESettings(experts=4, top_k=1))
        assert len(top1) == dense.config.num_hidden_layers
        assert torch.equal(dense(**inputs).logits, expected)  # weight p / p is exactly 1


def test_top2_renormalised_weights_reproduce_the_dense_model_to_rounding(dense) -> None:
    inputs = batch(1)
    with torch.no_grad():
        expected = dense(**inputs).logits
        upcycle(dense, MoESettings(experts=3, top_k=2))
        torch.testing.assert_close(dense(**inputs).logits, expected, rtol=1e-5, atol=1e-5)


def test_balance_loss_known_values() -> None:
    probs = torch.tensor([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])
    chosen = probs.argmax(-1, keepdim=True)
    # shares f = (2/3, 1/3), mean probabilities P = (2/3, 1/3): 2 × (4/9 + 1/9)
    assert balance_loss(probs, chosen).item() == pytest.approx(10 / 9)
    uniform = torch.full((5, 4), 0.25)
    assert balance_loss(uniform, torch.tensor([[0], [1], [2], [3], [0]])).item() == pytest.approx(1.0)
    collapsed = torch.tensor([[1.0, 0.0, 0.0]] * 4)
    assert balance_loss(collapsed, torch.zeros(4, 1, dtype=torch.long)).item() == pytest.approx(3.0)
    # a padding token is left out: only the first two rows count
    mask = torch.tensor([True, True, False])
    assert balance_loss(probs, chosen, mask).item() == pytest.approx(2 * (0.5 * 0.55 + 0.5 * 0.45))


def test_the_model_balance_loss_reads_the_attention_mask(dense) -> None:
    upcycle(dense, MoESettings(experts=2))
    block = moe_blocks(dense)[0]
    captured = {}
    block.register_forward_hook(lambda module, args, out: captured.setdefault("hidden", args[0].detach()))
    inputs = batch()
    with torch.no_grad():
        dense(**inputs)
    flat = captured["hidden"].reshape(-1, captured["hidden"].shape[-1])
    probs = torch.softmax(block.router(flat).float(), dim=-1)
    expected = balance_loss(probs, probs.argmax(-1, keepdim=True), inputs["attention_mask"].reshape(-1).bool())
    torch.testing.assert_close(block.balance, expected)
    assert not torch.allclose(block.balance, balance_loss(probs, probs.argmax(-1, keepdim=True)))
    assert total_balance_loss(dense).item() == pytest.approx(sum(b.balance.item() for b in moe_blocks(dense)))


def test_over_capacity_tokens_skip_the_mlp_and_are_counted() -> None:
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 4))
    block = UpcycledMLP(mlp, 4, MoESettings(experts=2, top_k=1, capacity_factor=0.5)).train()
    with torch.no_grad():
        block.router.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]]))
    hidden = torch.ones(1, 6, 4)  # every token prefers expert 0; capacity = 0.5 × 6 / 2 = 1
    out = block(hidden)
    assert block.dropped == 5
    assert torch.allclose(out[0, 0], mlp(hidden[0, 0]), atol=1e-6)
    assert torch.equal(out[0, 1:], torch.zeros(5, 4))
    block.eval()
    assert torch.allclose(block(hidden)[0], mlp(hidden[0]).expand(6, 4), atol=1e-6)  # no capacity at inference


def test_top1_router_learns_from_the_language_modelling_loss(dense) -> None:
    upcycle(dense, MoESettings(experts=2, top_k=1))
    dense.train()
    inputs = batch()
    loss = dense(**inputs, labels=inputs["input_ids"]).loss  # no balance term: the gradient is the LM loss's
    loss.backward()
    assert all(b.router.weight.grad is not None and b.router.weight.grad.abs().sum() > 0 for b in moe_blocks(dense))


def test_parameters_total_and_activated(dense) -> None:
    before = sum(p.numel() for p in dense.parameters())
    mlp = sum(p.numel() for p in dense.model.layers[0].mlp.parameters())
    layers, hidden = dense.config.num_hidden_layers, dense.config.hidden_size
    upcycle(dense, MoESettings(experts=4, top_k=1))
    total, activated = parameter_counts(dense)
    assert total == before + layers * (3 * mlp + 4 * hidden)
    assert activated == before + layers * 4 * hidden  # one expert per token: the dense size plus the routers


def test_lora_reaches_every_expert_and_the_router_trains(dense) -> None:
    from peft import LoraConfig, get_peft_model

    upcycle(dense, MoESettings(experts=2))
    tuned = get_peft_model(dense, LoraConfig(r=2, lora_alpha=4, target_modules=["gate_proj", "down_proj"],
                                             modules_to_save=["router"]))
    names = {n for n, p in tuned.named_parameters() if p.requires_grad}
    layers = dense.config.num_hidden_layers
    assert sum(1 for n in names if ".experts." in n and "lora_A" in n) == layers * 2 * 2
    assert sum(1 for n in names if "router" in n) == layers
    inputs = batch()
    tuned(**inputs, labels=inputs["input_ids"]).loss.backward()
    assert torch.isfinite(total_balance_loss(tuned)) and total_balance_loss(tuned).item() > 0


def test_bad_settings_and_models_are_refused() -> None:
    with pytest.raises(MoEError, match="top_k"):
        MoESettings(experts=2, top_k=3)
    with pytest.raises(MoEError, match="capacity_factor"):
        MoESettings(capacity_factor=0)
    with pytest.raises(MoEError, match="no decoder layers"):
        upcycle(nn.Sequential(nn.Linear(2, 2)), MoESettings())

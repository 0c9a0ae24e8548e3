"""Mixture-of-experts upcycling of a causal LM (SEPIT stage 2, after MoE-LLaVA): more parameters, same compute.

Every decoder layer's MLP becomes `experts` copies of itself behind a linear router that sends each
token to its top-k experts; a Switch-Transformer balance loss keeps the experts in use. Why copies:
at initialisation every expert equals the dense MLP and a token's expert weights sum to one, so
the upcycled model computes what the dense one did (tested), and training lets the experts diverge.
With top-1 routing the weight is `p / stop_grad(p)` (value exactly 1, gradient of p): the router
learns from the language-modelling loss, not only from the balance loss. With top-k > 1 the chosen
experts' probabilities are renormalised (Mixtral). A capacity factor (training only) lets each
expert take at most `capacity_factor × tokens × k / experts` tokens; the others skip the MLP (the
residual stream carries them) and are counted. Padding tokens are routed but left out of the
balance loss (the model's attention mask is read by a pre-forward hook). Works for any model whose
decoder layers hold their MLP as `.mlp` (Llama family incl. SmolLM2, Mistral, Qwen2), before or
after PEFT wraps it: LoRA targets such as `gate_proj` then reach every expert by name.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from molbridge.errors import MolbridgeError


class MoEError(MolbridgeError, ValueError):
    """A model or setting the upcycling cannot take (no `.mlp` blocks, top-k over the expert count)."""


@dataclass(frozen=True)
class MoESettings:
    experts: int = 4
    top_k: int = 1
    capacity_factor: float | None = None  # None: no token is ever dropped
    balance_weight: float = 0.01  # × the summed per-layer balance losses, added to the training loss

    def __post_init__(self) -> None:
        if self.experts < 2 or not 1 <= self.top_k <= self.experts:
            raise MoEError(f"need at least 2 experts and 1 ≤ top_k ≤ experts; got {self.experts} and {self.top_k}")
        if self.capacity_factor is not None and self.capacity_factor <= 0:
            raise MoEError(f"capacity_factor must be positive, got {self.capacity_factor}")


class UpcycledMLP(nn.Module):
    """A dense MLP turned into routed experts; `balance` holds the last forward's balance loss."""

    def __init__(self, dense: nn.Module, hidden_size: int, settings: MoESettings) -> None:
        super().__init__()
        self.settings = settings
        self.experts = nn.ModuleList(copy.deepcopy(dense) for _ in range(settings.experts))
        self.router = nn.Linear(hidden_size, settings.experts, bias=False)
        nn.init.normal_(self.router.weight, std=0.02)
        self.router.to(next(dense.parameters()).dtype)
        self.token_mask: torch.Tensor | None = None  # (batch, sequence) of the current forward, set by a hook
        self.balance: torch.Tensor | None = None
        self.dropped = 0  # tokens over capacity in the last forward

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        flat = hidden.reshape(-1, hidden.shape[-1])
        probs = torch.softmax(self.router(flat).float(), dim=-1)
        chosen_p, chosen = probs.topk(self.settings.top_k, dim=-1)
        weights = chosen_p / chosen_p.detach() if self.settings.top_k == 1 else \
            chosen_p / chosen_p.sum(dim=-1, keepdim=True)
        factor = self.settings.capacity_factor
        keep = self._within_capacity(chosen, factor) if self.training and factor else None
        out = torch.zeros_like(flat)
        for index, expert in enumerate(self.experts):
            routed = chosen == index if keep is None else (chosen == index) & keep
            rows, slots = routed.nonzero(as_tuple=True)
            if rows.numel():
                out.index_add_(0, rows, expert(flat[rows]) * weights[rows, slots].unsqueeze(-1).to(flat.dtype))
        self.balance = balance_loss(probs, chosen, self._mask(flat.shape[0])) if self.training else None
        return out.reshape(hidden.shape)

    def _mask(self, tokens: int) -> torch.Tensor | None:
        mask = self.token_mask
        return mask.reshape(-1).bool() if mask is not None and mask.numel() == tokens else None

    def _within_capacity(self, chosen: torch.Tensor, factor: float) -> torch.Tensor:
        """Which (token, slot) assignments fit their expert's capacity, first come first served."""
        capacity = max(1, int(factor * chosen.numel() / self.settings.experts))
        one_hot = nn.functional.one_hot(chosen.reshape(-1), self.settings.experts)
        position = (one_hot.cumsum(dim=0) * one_hot).sum(dim=-1).reshape(chosen.shape)  # 1-based per expert
        keep = position <= capacity
        self.dropped = int((~keep).sum())
        return keep


def balance_loss(probs: torch.Tensor, chosen: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Switch Transformer's load-balancing loss, `experts × Σ_i f_i · P_i`: f_i the share of routed assignments
    that went to expert i, P_i its mean router probability, over the unmasked tokens. 1 when balanced, `experts`
    when one expert takes everything with certainty."""
    if mask is not None:
        probs, chosen = probs[mask], chosen[mask]
    experts = probs.shape[-1]
    if probs.shape[0] == 0:
        return probs.new_zeros(())
    share = nn.functional.one_hot(chosen.reshape(-1), experts).float().mean(dim=0)
    return experts * (share * probs.mean(dim=0)).sum()


def _decoder_layers(model: nn.Module) -> list[tuple[nn.Module, nn.Module]]:
    """(layer, its dense MLP) of every decoder layer not yet upcycled."""
    layers = [(m, mlp) for m in model.modules() for mlp in [getattr(m, "mlp", None)]
              if isinstance(mlp, nn.Module) and not isinstance(mlp, UpcycledMLP)]
    if not layers:
        raise MoEError(f"{type(model).__name__} has no decoder layers with an `.mlp` block to upcycle")
    return layers


def _hidden_size(model: nn.Module) -> int:
    config = getattr(model, "config", None)
    size = getattr(config, "hidden_size", None)
    if size is None:
        raise MoEError(f"{type(model).__name__} has no config.hidden_size: cannot size the routers")
    return int(size)


def upcycle(model: nn.Module, settings: MoESettings) -> list[UpcycledMLP]:
    """Replace every decoder layer's MLP by `settings.experts` copies behind a router (in place); returns the new
    blocks. The model's attention mask reaches them through a pre-forward hook, for the balance loss."""
    layers = _decoder_layers(model)
    hidden = _hidden_size(model)
    blocks = []
    for layer, mlp in layers:
        block = UpcycledMLP(mlp, hidden, settings)
        layer.mlp = block
        blocks.append(block)

    def share_mask(_module: nn.Module, args: tuple, kwargs: dict) -> None:
        mask = kwargs.get("attention_mask")
        for block in blocks:
            block.token_mask = mask if isinstance(mask, torch.Tensor) and mask.dim() == 2 else None

    # the model and every transformers model inside it: a caller may run the decoder alone (the answer loss does)
    from transformers import PreTrainedModel

    for module in {model, *(m for m in model.modules() if isinstance(m, PreTrainedModel))}:
        module.register_forward_pre_hook(share_mask, with_kwargs=True)
    return blocks


def moe_blocks(model: nn.Module) -> list[UpcycledMLP]:
    return [m for m in model.modules() if isinstance(m, UpcycledMLP)]


def total_balance_loss(model: nn.Module) -> torch.Tensor:
    """The sum of every upcycled layer's balance loss from the last forward (as MoE-LLaVA adds them up)."""
    losses = [b.balance for b in moe_blocks(model) if b.balance is not None]
    if not losses:
        raise MoEError("no upcycled layer has run a forward: nothing to balance")
    return torch.stack(losses).sum()


def parameter_counts(model: nn.Module) -> tuple[int, int]:
    """(total, activated per token) parameters: a token runs `top_k` of each layer's experts, not all."""
    total = sum(p.numel() for p in model.parameters())
    idle = sum((b.settings.experts - b.settings.top_k) * sum(p.numel() for p in b.experts[0].parameters())
               for b in moe_blocks(model))
    return total, total - idle

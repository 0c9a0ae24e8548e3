"""Rows of a tensor from every DDP rank, for losses that compare each example with the whole global batch
(contrastive losses: 3D-MoLM's stage 1, SEPIT's stage 0). Gradients flow back to each rank's own rows; ranks may
hold different numbers of rows (an epoch's last batch). Without a process group it is the identity."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gathered_rows(tensor: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Every rank's rows concatenated in rank order (this rank's keep their gradient) and where this rank's start;
    ranks may hold different numbers of rows (an epoch's last batch). One process: the tensor itself, 0."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor, 0
    group = _feature_group()
    sizes = [torch.zeros(1, dtype=torch.long, device=tensor.device) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor([tensor.shape[0]], device=tensor.device), group=group)
    counts = [int(c) for c in sizes]
    start = sum(counts[:dist.get_rank()])
    padded = F.pad(tensor, [0, 0] * (tensor.dim() - 1) + [0, max(counts) - tensor.shape[0]])
    gathered = _GatherRows.apply(padded, group)
    rows = torch.cat([gathered[r * max(counts):r * max(counts) + c] for r, c in enumerate(counts)])
    return rows, start


class _GatherRows(torch.autograd.Function):
    """all_gather whose backward sums every rank's gradient for the local rows (all_reduce, which gloo has)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, group) -> torch.Tensor:
        import torch.distributed as dist

        ctx.group, ctx.rows = group, tensor.shape[0]
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size(group))]
        dist.all_gather(parts, tensor.contiguous(), group=group)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        import torch.distributed as dist

        grad = grad.contiguous()
        dist.all_reduce(grad, group=ctx.group)
        rank = dist.get_rank(ctx.group)
        return grad[rank * ctx.rows:(rank + 1) * ctx.rows], None


_GROUP: list = []


def _feature_group():
    """A process group of its own for the feature gathers, so they never interleave with DDP's gradient
    all-reduces on the default group (gloo runs one group's collectives in issue order)."""
    import torch.distributed as dist

    if not _GROUP:
        _GROUP.append(dist.new_group(backend=dist.get_backend()))
    return _GROUP[0]

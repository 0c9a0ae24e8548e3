"""Self-supervised pre-training of the GIN encoder (GraphCL-style contrastive), resumable and seeded.

Each step draws a batch, makes two stochastic views of every molecule (atom masking: all codes of
an atom set to the mask token; bond dropping: both directions of a bond removed) and pulls a
molecule's two views together against the other 2B - 2 views of the batch (NT-Xent on the
projection head). Contrast shapes exactly what retrieval uses, the similarity of pooled
embeddings.

Molecules are featurised once up front into one packed array set; batches and augmentations
are gathered with vectorised index arithmetic instead of per-graph Python objects.

Reproducibility and resuming: the model is initialised from `seed`; the random stream of step
``s`` (augmentations, dropout) is derived from ``(seed, s)`` and the data order of epoch ``e``
from ``(seed, e)``, so the step counter alone fixes where the data and randomness continue.
A checkpoint (model, optimiser, step, recent losses, the run's settings and a hash of its
molecules) is written atomically every `checkpoint_every` steps or `checkpoint_minutes`,
whichever comes first, and at the end; calling :func:`pretrain_gin` again with the same
`out_dir` and settings resumes from it and gives bit-identical weights to an uninterrupted run.
The learning rate is constant so that raising `max_steps` later continues the same run.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data

from molbridge.atomic import atomic_path
from molbridge.chem.graph_features import smiles_to_graphs
from molbridge.errors import FileFormatError, MolbridgeError
from molbridge.models.gin import ATOM_MASK_CODES, GINConfig, GINEncoder
from molbridge.progress import ProgressFn, report

CHECKPOINT_FILE = "checkpoint.pt"
ENCODER_DIR = "encoder"
CHECKPOINT_FORMAT = "molbridge.gin-pretrain/1"
_LOSS_WINDOW = 50


class PretrainError(MolbridgeError, ValueError):
    """Pre-training cannot start as asked (too few molecules, bad settings, an out_dir of another run)."""


@dataclass(frozen=True)
class ContrastiveConfig:
    """Augmentation strengths and NT-Xent temperature."""

    mask_rate: float = 0.2
    drop_rate: float = 0.2
    temperature: float = 0.1

    def __post_init__(self) -> None:
        for name in ("mask_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise PretrainError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not self.temperature > 0:
            raise PretrainError(f"temperature must be positive, got {self.temperature!r}")


@dataclass(frozen=True)
class PretrainResult:
    """Outcome of one :func:`pretrain_gin` call (`seconds` covers this call, not earlier resumed ones)."""

    steps: int
    resumed_from: int
    final_loss: float  # mean of the last (up to) 50 step losses
    molecules: int
    invalid: int
    seconds: float
    featurise_seconds: float
    encoder_dir: Path


@dataclass(frozen=True)
class PackedGraphs:
    """Many graphs in flat arrays: graph g owns nodes ``node_ptr[g]:node_ptr[g+1]`` (edges likewise),
    edge endpoints are numbered within their graph, and edges ``2k``/``2k + 1`` are one bond."""

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    node_ptr: torch.Tensor
    edge_ptr: torch.Tensor

    @classmethod
    def from_graphs(cls, graphs: Sequence[Data]) -> PackedGraphs:
        def ptr(counts: list[int]) -> torch.Tensor:
            return torch.tensor([0, *np.cumsum(counts)], dtype=torch.long)

        return cls(
            x=torch.cat([g.x for g in graphs]).to(torch.int16),
            edge_index=torch.cat([g.edge_index for g in graphs], dim=1).to(torch.int32),
            edge_attr=torch.cat([g.edge_attr for g in graphs]).to(torch.int16),
            node_ptr=ptr([g.num_nodes for g in graphs]),
            edge_ptr=ptr([g.edge_index.shape[1] for g in graphs]),
        )

    def __len__(self) -> int:
        return len(self.node_ptr) - 1

    def batch(self, graphs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x, edge_index, edge_attr, batch)`` of the chosen graphs, renumbered into one disjoint graph."""
        n_nodes = self.node_ptr[graphs + 1] - self.node_ptr[graphs]
        n_edges = self.edge_ptr[graphs + 1] - self.edge_ptr[graphs]
        nodes = _ranges(self.node_ptr[graphs], n_nodes)
        edges = _ranges(self.edge_ptr[graphs], n_edges)
        first_node = torch.cumsum(n_nodes, 0) - n_nodes  # where each graph's nodes start in the batch
        edge_index = self.edge_index[:, edges].long() + torch.repeat_interleave(first_node, n_edges)
        membership = torch.repeat_interleave(torch.arange(len(graphs)), n_nodes)
        return self.x[nodes].long(), edge_index, self.edge_attr[edges].long(), membership


def _ranges(starts: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Concatenation of ``arange(s, s + c)`` for each (start, count), without a Python loop."""
    offsets = torch.cumsum(counts, 0) - counts
    return torch.arange(int(counts.sum())) - torch.repeat_interleave(offsets - starts, counts)


def _augment(x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor, recipe: ContrastiveConfig,
             generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One view: a `mask_rate` share of atoms become the mask token, a `drop_rate` share of bonds vanish."""
    masked = torch.rand(len(x), generator=generator) < recipe.mask_rate
    x = torch.where(masked[:, None], torch.tensor(ATOM_MASK_CODES), x)
    keep = (torch.rand(edge_index.shape[1] // 2, generator=generator) >= recipe.drop_rate).repeat_interleave(2)
    return x, edge_index[:, keep], edge_attr[keep]


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss: row i of `a` must pick row i of `b` among all 2B - 1 other views (and vice versa)."""
    z = nn.functional.normalize(torch.cat([a, b]), dim=1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    n = len(a)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return nn.functional.cross_entropy(logits, target)


def _contrastive_loss(encoder: GINEncoder, data: PackedGraphs, graphs: torch.Tensor, recipe: ContrastiveConfig,
                      generator: torch.Generator) -> torch.Tensor:
    x, edge_index, edge_attr, membership = data.batch(graphs)
    views = []
    for _ in range(2):
        vx, vei, vea = _augment(x, edge_index, edge_attr, recipe, generator)
        views.append(encoder.head(encoder.encode(vx, vei, vea, membership, len(graphs))))
    return nt_xent(views[0], views[1], recipe.temperature)


def _step_seed(seed: int, *stream: int) -> int:
    """A 63-bit seed for one (seed, ...) stream, independent across streams."""
    return int(np.random.SeedSequence([seed, *stream]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def _epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(_step_seed(seed, 0, epoch)))


def _fingerprint(smiles: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in smiles:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()


def _save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _load_checkpoint(path: Path, settings: dict) -> dict:
    """The checkpoint at `path`, after checking it was made by a run with the same `settings`."""
    try:
        state = torch.load(path, weights_only=True)
    except Exception as err:
        raise FileFormatError(str(path), None, f"unreadable checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise FileFormatError(str(path), None, f"not a {CHECKPOINT_FORMAT} checkpoint")
    differ = sorted(k for k in settings if state["settings"].get(k) != settings[k])
    if differ:
        raise PretrainError(f"{path} belongs to a run with other {', '.join(differ)}; resume with the same "
                            "settings and molecules, or use a new out_dir")
    return state


def pretrain_gin(
    smiles: Sequence[str],
    out_dir: str | Path,
    *,
    config: GINConfig | None = None,
    recipe: ContrastiveConfig | None = None,
    max_minutes: float = 4.0,
    max_steps: int | None = None,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    checkpoint_every: int = 200,
    checkpoint_minutes: float = 1.0,
    progress: ProgressFn | None = None,
) -> PretrainResult:
    """Pre-train a GIN on `smiles` until `max_steps` (total, across resumes) or `max_minutes` (this call).

    Writes ``out_dir/checkpoint.pt`` (resume state) and ``out_dir/encoder`` (the encoder, for
    :meth:`GINEncoder.load`). Invalid SMILES are counted in the result and skipped; at least
    two valid molecules are needed. Batches hold ``min(batch_size, molecules)`` molecules and
    an epoch drops its incomplete last batch.
    """
    if max_steps is not None and max_steps < 0:
        raise PretrainError(f"max_steps must be >= 0, got {max_steps}")
    if batch_size < 2 or checkpoint_every < 1:
        raise PretrainError(f"batch_size must be >= 2 and checkpoint_every >= 1, got {batch_size}, {checkpoint_every}")
    config, recipe = config or GINConfig(), recipe or ContrastiveConfig()
    started = time.monotonic()
    graphs, failures = smiles_to_graphs(smiles)
    if len(graphs) < 2:
        raise PretrainError(f"{len(graphs)} valid molecules of {len(smiles)}; contrastive pre-training needs >= 2")
    data = PackedGraphs.from_graphs(graphs)
    del graphs
    featurise_seconds = time.monotonic() - started
    batch_size = min(batch_size, len(data))
    settings = {"config": asdict(config), "recipe": asdict(recipe), "batch_size": batch_size, "lr": lr,
                "seed": seed, "molecules": _fingerprint(smiles)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / CHECKPOINT_FILE

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = GINEncoder(config)
        optimizer = torch.optim.Adam(encoder.parameters(), lr=lr)
        step, losses = 0, []
        if checkpoint.exists():
            state = _load_checkpoint(checkpoint, settings)
            encoder.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            step, losses = state["step"], list(state["losses"])
        resumed_from = step

        def save() -> None:
            _save_checkpoint(checkpoint, {"format": CHECKPOINT_FORMAT, "settings": settings, "step": step,
                                          "losses": losses, "model": encoder.state_dict(),
                                          "optimizer": optimizer.state_dict()})

        per_epoch = len(data) // batch_size
        deadline = time.monotonic() + max_minutes * 60
        last_save = time.monotonic()
        order_epoch, order = -1, torch.empty(0, dtype=torch.long)
        encoder.train()
        while (max_steps is None or step < max_steps) and time.monotonic() < deadline:
            epoch, slot = divmod(step, per_epoch)
            if epoch != order_epoch:
                order_epoch, order = epoch, _epoch_order(len(data), seed, epoch)
            step_seed = _step_seed(seed, 1, step)
            torch.manual_seed(step_seed)  # dropout
            generator = torch.Generator().manual_seed(step_seed)
            loss = _contrastive_loss(encoder, data, order[slot * batch_size:(slot + 1) * batch_size], recipe, generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            losses = [*losses[-(_LOSS_WINDOW - 1):], loss.item()]
            report(progress, "pretrain", step, max_steps, unit="steps", note=f"loss {losses[-1]:.4f}",
                   values={"loss": losses[-1]})
            if step % checkpoint_every == 0 or time.monotonic() - last_save >= checkpoint_minutes * 60:
                save()
                last_save = time.monotonic()
        save()
    encoder_dir = encoder.eval().save(out / ENCODER_DIR)
    return PretrainResult(
        steps=step, resumed_from=resumed_from, final_loss=float(np.mean(losses)) if losses else math.nan,
        molecules=len(data), invalid=len(failures), seconds=time.monotonic() - started,
        featurise_seconds=featurise_seconds, encoder_dir=encoder_dir,
    )

"""A GIN graph encoder (Hu et al. 2020 / Mole-BERT layout) whose pooled output is a molecule embedding.

Atoms and bonds enter as the categorical codes of :mod:`molbridge.chem.graph_features`: one
embedding table per column, summed. Each layer is a GINEConv (the bond embedding is added to
the neighbour message) with its own bond tables, BatchNorm and ReLU. The graph embedding
concatenates the pooled output of *every* layer (jumping knowledge, "cat") and projects it to
``emb_dim``: retrieval wants atoms' local environments (layer 1) as much as wider context
(layer L), as Morgan fingerprints keep every radius; on ChEBI-20 copy retrieval the concatenation
beat the last layer alone (see :mod:`molbridge.retrieval.graph_pretrain`). ``head`` is the
projection used only by contrastive pre-training, so the embedding itself is not bent to the
augmentations' invariances.

A saved encoder is a directory with ``config.json`` (format version, config, the feature
vocabulary sizes it was built for) and ``model.safetensors``; it is written to a temporary
sibling and renamed, so a crash never leaves a half-written model under the target name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import GINEConv, global_add_pool, global_max_pool, global_mean_pool

from molbridge.atomic import atomic_directory
from molbridge.chem.graph_features import ATOM_FEATURE_DIMS, BOND_FEATURE_DIMS, smiles_to_graphs
from molbridge.errors import FileFormatError, MissingResourceError, MolbridgeError

FORMAT = "molbridge.gin/1"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
# each atom table has one row past its vocabulary: the learned "masked atom" token of pre-training
ATOM_MASK_CODES = ATOM_FEATURE_DIMS
_POOLS = {"mean": global_mean_pool, "sum": global_add_pool, "max": global_max_pool}


class GINConfigError(MolbridgeError, ValueError):
    """A GIN configuration that cannot describe a model (non-positive sizes, unknown pooling)."""


@dataclass(frozen=True)
class GINConfig:
    """Sizes of a :class:`GINEncoder`; the defaults pre-train on MOSES in about 4 minutes on 2 CPU cores."""

    hidden: int = 128
    layers: int = 4
    proj_dim: int = 128  # output of the pre-training projection head, not of the embedding
    dropout: float = 0.0
    pooling: Literal["mean", "sum", "max"] = "mean"

    @property
    def emb_dim(self) -> int:
        """Width of the molecule embedding: every layer's pooled output, concatenated."""
        return self.hidden * self.layers

    def __post_init__(self) -> None:
        for name in ("hidden", "layers", "proj_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise GINConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise GINConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.pooling not in _POOLS:
            raise GINConfigError(f"pooling must be one of {', '.join(_POOLS)}, got {self.pooling!r}")


class CategoricalEmbedding(nn.Module):
    """Sum of one embedding per integer feature column: the OGB encoder for atom or bond codes."""

    def __init__(self, dims: Sequence[int], width: int, extra_rows: int = 0) -> None:
        super().__init__()
        tables = [nn.Embedding(dim + extra_rows, width) for dim in dims]
        for table in tables:
            nn.init.xavier_uniform_(table.weight)
        self.tables = nn.ModuleList(tables)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        out = self.tables[0](codes[:, 0])
        for column, table in enumerate(self.tables[1:], start=1):
            out = out + table(codes[:, column])
        return out


class GINEncoder(nn.Module):
    """Graphs (PyG ``Batch`` of :func:`~molbridge.chem.graph_features.mol_to_graph` outputs) -> embeddings."""

    def __init__(self, config: GINConfig | None = None) -> None:
        super().__init__()
        self.config = config or GINConfig()
        hidden, layers = self.config.hidden, self.config.layers
        self.atom_encoder = CategoricalEmbedding(ATOM_FEATURE_DIMS, hidden, extra_rows=1)
        self.bond_encoders = nn.ModuleList(CategoricalEmbedding(BOND_FEATURE_DIMS, hidden) for _ in range(layers))
        self.convs = nn.ModuleList(
            GINEConv(nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.ReLU(), nn.Linear(2 * hidden, hidden)))
            for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(self.config.dropout)
        emb = self.config.emb_dim
        self.head = nn.Sequential(nn.Linear(emb, emb), nn.ReLU(), nn.Linear(emb, self.config.proj_dim))

    def node_states(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> list[torch.Tensor]:
        """Per-layer atom representations, each (atoms, hidden)."""
        h = self.atom_encoder(x)
        states = []
        for bond_encoder, conv, norm in zip(self.bond_encoders, self.convs, self.norms):
            h = self.dropout(torch.relu(norm(conv(h, edge_index, bond_encoder(edge_attr)))))
            states.append(h)
        return states

    def encode(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor, membership: torch.Tensor,
               num_graphs: int) -> torch.Tensor:
        """Graph embeddings (num_graphs, emb_dim), not normalised; `membership[i]` is atom i's graph."""
        states = self.node_states(x, edge_index, edge_attr)
        return _POOLS[self.config.pooling](torch.cat(states, dim=1), membership, size=num_graphs)

    def forward(self, batch: Batch) -> torch.Tensor:
        """Graph embeddings of a PyG batch (graphs, emb_dim), not normalised."""
        return self.encode(batch.x, batch.edge_index, batch.edge_attr, batch.batch, batch.num_graphs)

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` + ``model.safetensors`` into `directory` (replacing it whole); returns it."""
        meta = {"format": FORMAT, "config": asdict(self.config),
                "atom_feature_dims": list(ATOM_FEATURE_DIMS), "bond_feature_dims": list(BOND_FEATURE_DIMS)}
        with atomic_directory(directory) as staging:
            (staging / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            save_file({k: v.detach().contiguous() for k, v in self.state_dict().items()}, str(staging / WEIGHTS_FILE))
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path) -> GINEncoder:
        """Rebuild a saved encoder (in eval mode); names the file and the reason when it cannot."""
        root = Path(directory)
        config_path, weights_path = root / CONFIG_FILE, root / WEIGHTS_FILE
        for path in (config_path, weights_path):
            if not path.is_file():
                raise MissingResourceError(f"{path}: missing; a saved GIN encoder directory holds "
                                           f"{CONFIG_FILE} and {WEIGHTS_FILE} (write one with GINEncoder.save)")
        encoder = cls(_read_config(config_path))
        try:
            weights = load_file(str(weights_path))
        except (SafetensorError, OSError) as err:
            raise FileFormatError(str(weights_path), None, f"not a readable safetensors file: {err}") from None
        try:
            encoder.load_state_dict(weights, strict=True)
        except RuntimeError as err:
            raise FileFormatError(str(weights_path), None, f"weights do not fit the saved config: {err}") from None
        return encoder.eval()


def _read_config(path: Path) -> GINConfig:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(str(path), None, f"not JSON: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise FileFormatError(str(path), None, f"format {found!r}, expected {FORMAT!r}")
    for key, dims in (("atom_feature_dims", ATOM_FEATURE_DIMS), ("bond_feature_dims", BOND_FEATURE_DIMS)):
        if meta.get(key) != list(dims):
            raise FileFormatError(str(path), None, f"{key} {meta.get(key)} differ from this molbridge's "
                                  f"featuriser {list(dims)}; the model was built for other atom/bond vocabularies")
    config = meta.get("config")
    known = {f.name for f in fields(GINConfig)}
    if not isinstance(config, dict) or set(config) != known:
        raise FileFormatError(str(path), None, f"'config' must have exactly the keys {sorted(known)}")
    try:
        return GINConfig(**config)
    except GINConfigError as err:
        raise FileFormatError(str(path), None, str(err)) from None



class GraphEmbeddings(NamedTuple):
    """Embeddings of the valid molecules of a batch, with where each came from.

    ``vectors[j]`` (float32, unit L2 norm) belongs to ``smiles[positions[j]]``; each invalid
    input appears once in ``failures`` as ``(position, reason)``. Invalid inputs get no row at
    all, rather than a NaN or zero row that a nearest-neighbour search would happily return
    (``argmax`` picks NaN); three fields also make ``vectors, failures = ...`` fail loudly
    instead of silently misaligning rows and inputs.
    """

    vectors: np.ndarray
    positions: np.ndarray
    failures: list[tuple[int, str]]


def embed_smiles(encoder: GINEncoder, smiles: Sequence[str], *, batch_size: int = 256) -> GraphEmbeddings:
    """Unit-norm embeddings of `smiles` (ChEBI escapes collapsed), in input order.

    Runs in eval mode (BatchNorm running statistics, no dropout) under ``torch.inference_mode``,
    so a molecule's vector does not depend on its batch neighbours and repeated calls agree;
    the encoder's previous train/eval mode is restored afterwards.
    """
    if isinstance(smiles, str):
        raise TypeError("smiles must be a sequence of strings, not one string")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    failures: list[tuple[int, str]] = []
    positions: list[int] = []
    blocks: list[np.ndarray] = []
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(smiles), batch_size):  # featurised a batch at a time: memory stays flat
                graphs, failed = smiles_to_graphs(smiles[start:start + batch_size])
                failures += [(start + i, reason) for i, reason in failed]
                bad = {i for i, _ in failed}
                positions += [start + i for i in range(len(graphs) + len(failed)) if i not in bad]
                if graphs:
                    out = nn.functional.normalize(encoder(Batch.from_data_list(graphs)), dim=1)
                    blocks.append(out.numpy())
    finally:
        encoder.train(was_training)
    vectors = np.concatenate(blocks) if blocks else np.zeros((0, encoder.config.emb_dim), np.float32)
    return GraphEmbeddings(vectors, np.array(positions, dtype=np.int64), failures)

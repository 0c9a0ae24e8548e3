"""Pre-training our own Uni-Mol-architecture encoder with Uni-Mol's objectives, because its released weights are
not available offline.

Uni-Mol (Zhou et al., ICLR 2023) learns from conformers alone: 15% of a molecule's atoms are
chosen (of those 80% become [MASK], 10% a random element, 10% stay), the chosen atoms'
coordinates get uniform noise in [-1, 1] Å, and the model must name the chosen atoms
(`lm_head` over the atom states) and put them back where they were (`pair2coord_proj`: each atom
moves along its difference vectors to the other atoms, weighted by an MLP of the pair
representation, so the prediction rotates with the molecule) and, optionally, predict the true
distances from the pair representation (`dist_head`). The heads live here, not in the encoder,
so the encoder stays the plain encoder that 3D-MoLM freezes; their names are Uni-Mol's, so the
checkpoint's weights read as one Uni-Mol pre-training state dict.

Molecules: the first N of QM9 with their B3LYP geometries (offline, `qm9pack`), plus ETKDG
conformers of SMILES from a file and/or a seeded MOSES subset. A molecule whose conformer fails
is counted with its reason and skipped. A seeded share is held out and scored (masked-atom
accuracy, coordinate error in Å) every `eval_every` steps with the same masks each time.

Reproducibility and resuming follow `molbridge retrieve pretrain-gin`: the model is initialised
from `seed`, the random stream of step ``s`` (masking, noise, dropout) comes from ``(seed, s)``
and the data order of epoch ``e`` from ``(seed, e)``, and the learning rate (linear warm-up,
then constant) depends on the step only, so a checkpoint needs no RNG state beyond its step
counter and a larger `steps` continues the same run. Checkpoints are safetensors + JSON in a
directory replaced atomically; nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from molbridge.atomic import atomic_directory
from molbridge.chem.conformer_tokens import (
    CLS,
    MASK,
    PAD,
    SEP,
    TOKEN_ID,
    ConformerInputError,
    ConformerTokens,
    conformer_tokens,
)
from molbridge.errors import FileFormatError, MissingResourceError, MolbridgeError
from molbridge.models.encoders.unimol import NonLinearHead, UniMolConfig, UniMolEncoder, collate_conformers
from molbridge.models.encoders.unimol_weights import HEAD_PREFIXES
from molbridge.progress import ProgressFn, report
from molbridge.records import Conformer

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoint"
ENCODER_DIR = "encoder"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
STATE_FILE = "state.json"
CHECKPOINT_FORMAT = "molbridge.unimol-pretrain/1"
# random replacements are real elements (C … Li), never a special token, as in Uni-Mol
ELEMENT_IDS = (TOKEN_ID["C"], TOKEN_ID["Li"] + 1)
_LOSS_WINDOW = 50
# settings that may change when a run is resumed: they do not change the weights of a given step (the molecules'
# fingerprint, not the file's path, says whether the molecules are the same)
_FREE_ON_RESUME = ("steps", "checkpoint_every", "eval_every", "conformer_workers", "smiles_file")


class Pretrain3DError(MolbridgeError, ValueError):
    """Pre-training cannot start as asked (bad settings, too few molecules, an out dir of another run)."""


@dataclass(frozen=True)
class MaskingConfig:
    """Uni-Mol's corruption: the share of atoms chosen, how the chosen are split, and the noise (Å)."""

    mask_prob: float = 0.15
    random_token_prob: float = 0.1
    leave_unmasked_prob: float = 0.1
    noise: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_prob <= 1.0:
            raise Pretrain3DError(f"mask_prob must be in (0, 1], got {self.mask_prob!r}")
        if min(self.random_token_prob, self.leave_unmasked_prob) < 0 or \
                self.random_token_prob + self.leave_unmasked_prob > 1:
            raise Pretrain3DError("random_token_prob and leave_unmasked_prob must be >= 0 and sum to <= 1")
        if not self.noise >= 0:
            raise Pretrain3DError(f"noise must be >= 0 Å, got {self.noise!r}")


@dataclass(frozen=True)
class Pretrain3DSettings:
    """One run: molecules, encoder size, objectives and optimisation. The defaults take ~4 min on one CPU thread."""

    encoder: UniMolConfig = field(default_factory=UniMolConfig)  # the registry's default size
    qm9_molecules: int = 20_000  # the first N of QM9 (B3LYP geometries)
    smiles_file: str | None = None  # one SMILES per line (first field); ETKDG conformers
    moses_molecules: int = 0  # a seeded MOSES subset; ETKDG conformers (~0.1 s a molecule)
    held_out: float = 0.05
    steps: int = 2000
    batch_size: int = 64
    lr: float = 3e-4
    warmup_steps: int = 100
    weight_decay: float = 1e-4
    clip_norm: float = 1.0
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    token_weight: float = 1.0  # Uni-Mol's loss weights: 1, 5, 10
    coord_weight: float = 5.0
    distance_weight: float = 10.0  # 0 turns the distance loss off
    seed: int = 0
    checkpoint_every: int = 200
    eval_every: int = 200
    conformer_workers: int = 1

    def check(self) -> None:
        for name in ("qm9_molecules", "moses_molecules", "steps", "warmup_steps"):
            if getattr(self, name) < 0:
                raise Pretrain3DError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("batch_size", "checkpoint_every", "eval_every", "conformer_workers"):
            if getattr(self, name) < 1:
                raise Pretrain3DError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.held_out < 1.0:
            raise Pretrain3DError(f"held_out must be in [0, 1), got {self.held_out!r}")
        if not self.lr > 0 or min(self.weight_decay, self.clip_norm, self.token_weight, self.coord_weight,
                                  self.distance_weight) < 0:
            raise Pretrain3DError("lr must be > 0; weight_decay, clip_norm and the loss weights >= 0")
        if self.encoder.embed_dim % self.encoder.heads:
            raise Pretrain3DError(f"width {self.encoder.embed_dim} is not a multiple of heads {self.encoder.heads}")

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


# --- masking -----------------------------------------------------------------------------------------------------


class Masked(NamedTuple):
    """A corrupted batch: input tokens and coordinates, and which atoms were chosen (the loss positions)."""

    tokens: torch.Tensor  # (batch, n) with [MASK] / random elements at chosen atoms
    coords: torch.Tensor  # (batch, n, 3) with noise at chosen atoms
    chosen: torch.Tensor  # (batch, n) bool: every atom the losses score
    masked: torch.Tensor  # chosen and shown as [MASK]
    randomized: torch.Tensor  # chosen and shown as a random element (the rest of the chosen are unchanged)


def mask_batch(tokens: torch.Tensor, coords: torch.Tensor, masking: MaskingConfig,
               generator: torch.Generator) -> Masked:
    """Uni-Mol's corruption of a collated batch, drawn from `generator` only (so a seed fixes it).

    Each molecule gets ``floor(mask_prob * atoms + u)`` chosen atoms (u ~ U[0, 1): the expected share is
    exactly `mask_prob`, and small molecules are not always left alone); [CLS], [SEP] and pads never are.
    """
    atoms = (tokens != PAD) & (tokens != CLS) & (tokens != SEP)
    b, n = tokens.shape
    counts = torch.floor(masking.mask_prob * atoms.sum(1) + torch.rand(b, generator=generator)).long()
    scores = torch.rand(b, n, generator=generator).masked_fill(~atoms, 2.0)
    rank = scores.argsort(1).argsort(1)  # a uniform random order of each molecule's atoms
    chosen = atoms & (rank < counts[:, None])
    split = torch.rand(b, n, generator=generator)
    unchanged = chosen & (split < masking.leave_unmasked_prob)
    randomized = chosen & ~unchanged & (split < masking.leave_unmasked_prob + masking.random_token_prob)
    masked = chosen & ~unchanged & ~randomized
    random_ids = torch.randint(*ELEMENT_IDS, (b, n), generator=generator)
    corrupted = torch.where(masked, torch.full_like(tokens, MASK), torch.where(randomized, random_ids, tokens))
    noise = (torch.rand(b, n, 3, generator=generator) * 2 - 1) * masking.noise
    noisy = coords + noise * chosen.unsqueeze(-1)
    return Masked(corrupted, noisy, chosen, masked, randomized)


# --- heads -------------------------------------------------------------------------------------------------------


class MaskLMHead(nn.Module):
    """Atom states → element logits: Linear, GELU, LayerNorm, Linear (Uni-Mol's MaskLMHead, untied weight)."""

    def __init__(self, width: int, vocab: int) -> None:
        super().__init__()
        self.dense = nn.Linear(width, width)
        self.layer_norm = nn.LayerNorm(width)
        self.weight = nn.Parameter(torch.empty(vocab, width))
        self.bias = nn.Parameter(torch.zeros(vocab))
        nn.init.normal_(self.weight, std=width ** -0.5)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return F.linear(self.layer_norm(F.gelu(self.dense(states))), self.weight) + self.bias


class DistanceHead(nn.Module):
    """Pair representation → a symmetric distance matrix (Uni-Mol's DistanceHead)."""

    def __init__(self, heads: int) -> None:
        super().__init__()
        self.dense = nn.Linear(heads, heads)
        self.layer_norm = nn.LayerNorm(heads)
        self.out_proj = nn.Linear(heads, 1)

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        x = self.out_proj(self.layer_norm(F.gelu(self.dense(pair)))).squeeze(-1)
        return (x + x.transpose(-1, -2)) / 2


class PretrainHeads(nn.Module):
    """Uni-Mol's pre-training heads over a `UniMolEncoder`'s output, with Uni-Mol's parameter names.

    The pair-output norm sits under ``encoder.final_head_layer_norm`` (a ModuleDict named `encoder`) because
    that is its name in Uni-Mol's state dict; encoder and heads weights together are one Uni-Mol
    pre-training state dict without renaming.
    """

    def __init__(self, config: UniMolConfig) -> None:
        super().__init__()
        self.lm_head = MaskLMHead(config.embed_dim, config.vocab_size)
        self.pair2coord_proj = NonLinearHead(config.heads, 1)
        self.dist_head = DistanceHead(config.heads)
        self.encoder = nn.ModuleDict({"final_head_layer_norm": nn.LayerNorm(config.heads)})

    def pair(self, pair_delta: torch.Tensor) -> torch.Tensor:
        """The normalised pair representation the coordinate and distance heads read."""
        return self.encoder["final_head_layer_norm"](pair_delta)

    def coordinates(self, coords: torch.Tensor, pair: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """Predicted coordinates: each token moves by Σ_j (x_j − x_i) · MLP(pair_ij) / (tokens − 1).

        Uni-Mol's update (its sign convention, so its released head means the same); a sum of difference
        vectors with rotation-invariant weights, hence rotation-equivariant. Pad pairs are left out (Uni-Mol
        lets them in, which makes the prediction depend on the batch's padding).
        """
        real = (~padding).to(coords.dtype)
        weight = self.pair2coord_proj(pair).squeeze(-1) * real[:, :, None] * real[:, None, :]
        delta = coords.unsqueeze(1) - coords.unsqueeze(2)  # [b, i, j] = x_j − x_i
        tokens = (real.sum(1) - 1).clamp(min=1).view(-1, 1, 1)
        return coords + (delta * weight.unsqueeze(-1)).sum(2) / tokens


class Losses(NamedTuple):
    """The weighted total and its parts, plus sums for held-out metrics (over the `atoms` chosen atoms)."""

    total: torch.Tensor
    token: torch.Tensor
    coord: torch.Tensor
    distance: torch.Tensor
    atoms: int
    correct: int
    coord_error: float  # Σ |predicted − true| (Å) over chosen atoms
    noisy_error: float  # Σ |noisy − true| (Å): what doing nothing scores


def pretrain_losses(encoder: UniMolEncoder, heads: PretrainHeads, tokens: torch.Tensor, coords: torch.Tensor,
                    corrupted: Masked, settings: Pretrain3DSettings) -> Losses:
    """Cross-entropy of the chosen atoms' elements, smooth-L1 of their coordinates and of their distances."""
    out = encoder(corrupted.tokens, corrupted.coords)
    chosen = corrupted.chosen
    count = int(chosen.sum())
    zero = out.states.sum() * 0.0  # keeps the graph for a batch without a chosen atom
    if count == 0:
        return Losses(zero, zero, zero, zero, 0, 0, 0.0, 0.0)
    logits = heads.lm_head(out.states[chosen])
    target = tokens[chosen]
    token_loss = F.cross_entropy(logits, target)
    pair = heads.pair(out.pair_delta)
    predicted = heads.coordinates(corrupted.coords, pair, out.padding)
    coord_loss = F.smooth_l1_loss(predicted[chosen], coords[chosen], beta=1.0)
    distance_loss = zero
    if settings.distance_weight > 0:
        distances = heads.dist_head(pair)
        true = torch.cdist(coords, coords)
        rows = chosen.unsqueeze(-1) & ~out.padding.unsqueeze(1)  # chosen atom i against every token j
        rows &= ~torch.eye(tokens.shape[1], dtype=torch.bool).unsqueeze(0)
        distance_loss = F.smooth_l1_loss(distances[rows], true[rows], beta=1.0)
    total = (settings.token_weight * token_loss + settings.coord_weight * coord_loss
             + settings.distance_weight * distance_loss)
    with torch.no_grad():
        correct = int((logits.argmax(-1) == target).sum())
        coord_error = float((predicted[chosen] - coords[chosen]).norm(dim=-1).sum())
        noisy_error = float((corrupted.coords[chosen] - coords[chosen]).norm(dim=-1).sum())
    return Losses(total, token_loss, coord_loss, distance_loss, count, correct, coord_error, noisy_error)


# --- molecules ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Skipped:
    """A molecule left out: which one and why."""

    source: str
    reason: str


def _tokens(atoms: Sequence[str], coords: Sequence[Sequence[float]], name: str, seed: int) -> ConformerTokens:
    try:
        conformer = Conformer(atoms=list(atoms), coords=[tuple(c) for c in coords])
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        raise ConformerInputError(name, f"not a conformer: {err}") from None
    return conformer_tokens(conformer, name, seed=seed)


def tokenize_conformers(items: Iterable[tuple[str, Sequence[str], Sequence[Sequence[float]]]], seed: int,
                        skipped: list[Skipped]) -> Iterator[tuple[str, ConformerTokens]]:
    """`(name, atoms, coords)` → `(name, tokens)`; a conformer the encoder cannot read goes to `skipped`."""
    for name, atoms, coords in items:
        try:
            yield name, _tokens(atoms, coords, name, seed)
        except ConformerInputError as err:
            skipped.append(Skipped(name, err.reason))


def read_smiles_file(path: str | Path) -> list[str]:
    """One SMILES per line (its first field); blank lines, `#` comments and a `SMILES` header are skipped."""
    path = Path(path)
    if not path.is_file():
        raise MissingResourceError(f"no SMILES file at {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise FileFormatError(str(path), None, f"not UTF-8 text: {err}") from None
    found = [line.split()[0] for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return found[1:] if found and found[0].lower() == "smiles" else found


def _embedded(smiles: Sequence[tuple[str, str]], settings: Pretrain3DSettings, skipped: list[Skipped],
              progress: ProgressFn | None) -> list[tuple[str, Sequence[str], Sequence[Sequence[float]]]]:
    """ETKDG conformers of `(name, SMILES)` pairs, in input order; failures (parse, embedding, timeout) skipped."""
    from molbridge.chem.conformers import ConformerRunner

    if not smiles:
        return []
    done: dict[int, tuple[str, Sequence[str], Sequence[Sequence[float]]]] = {}
    runner = ConformerRunner(settings.conformer_workers, seed=settings.seed)
    for finished, result in enumerate(runner.run([text for _, text in smiles]), start=1):
        name = smiles[result.index][0]
        if result.geometry is None:
            skipped.append(Skipped(name, f"no conformer: {result.cause}"))
        else:
            done[result.index] = (name, result.geometry.atoms, result.geometry.coords)
        report(progress, "conformers", finished, len(smiles), unit="molecules")
    return [done[i] for i in sorted(done)]


def gather_molecules(settings: Pretrain3DSettings, progress: ProgressFn | None = None
                     ) -> tuple[list[tuple[str, ConformerTokens]], list[Skipped]]:
    """The run's molecules in a fixed order (QM9, then the SMILES file, then MOSES) and those skipped."""
    from molbridge.data.formats.common import Problem
    from molbridge.data.sources.qm9 import read_qm9

    if not (settings.qm9_molecules or settings.smiles_file or settings.moses_molecules):
        raise Pretrain3DError("no molecules: give qm9_molecules, smiles_file or moses_molecules")
    skipped: list[Skipped] = []
    molecules: list[tuple[str, ConformerTokens]] = []
    if settings.qm9_molecules:
        problems: list[Problem] = []
        rows = ((f"qm9:{m.index}", m.atoms, m.coords) for m in read_qm9(limit=settings.qm9_molecules,
                                                                        problems=problems))
        molecules += tokenize_conformers(rows, settings.seed, skipped)
        skipped += [Skipped(p.where, p.reason) for p in problems]
    smiles: list[tuple[str, str]] = []
    if settings.smiles_file:
        smiles += [(f"{Path(settings.smiles_file).name}:{i}", s)
                   for i, s in enumerate(read_smiles_file(settings.smiles_file), start=1)]
    if settings.moses_molecules:
        from molbridge.data.sources.moses import read_moses_smiles

        smiles += [(f"moses:{i}", s) for i, s in enumerate(read_moses_smiles(settings.moses_molecules,
                                                                             seed=settings.seed))]
    molecules += tokenize_conformers(_embedded(smiles, settings, skipped, progress), settings.seed, skipped)
    return molecules, skipped


# --- training ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldOut:
    """Held-out scores after `step` steps: loss, masked-atom accuracy, mean coordinate error of chosen atoms (Å)
    and that of the noisy input (the error of predicting no move)."""

    step: int
    loss: float
    atom_accuracy: float
    coord_error: float
    noisy_coord_error: float
    atoms: int


@dataclass(frozen=True)
class Pretrain3DResult:
    """Outcome of one :func:`pretrain_3d` call (`seconds` covers this call, not earlier resumed ones)."""

    steps: int
    resumed_from: int
    first_loss: float  # training loss of step 1 (from the checkpoint when resumed)
    final_loss: float  # mean of the last (up to) 50 step losses
    train_molecules: int
    held_out_molecules: int
    skipped: list[Skipped]
    evaluations: list[HeldOut]  # the whole run's, oldest first
    seconds: float
    encoder_dir: Path

    @property
    def held_out(self) -> HeldOut | None:
        return self.evaluations[-1] if self.evaluations else None


def _stream_seed(seed: int, *stream: int) -> int:
    """A 63-bit seed for one (seed, ...) stream, independent across streams."""
    return int(np.random.SeedSequence([seed, *stream]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def _fingerprint(molecules: Sequence[tuple[str, ConformerTokens]]) -> str:
    digest = hashlib.sha256()
    for name, item in molecules:
        digest.update(name.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(item.tokens.tobytes() + item.coords.tobytes())
    return digest.hexdigest()


def _split(n: int, held_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, held-out) positions; a positive share holds out at least one molecule."""
    order = np.random.default_rng(_stream_seed(seed, 3)).permutation(n)
    count = max(1, round(held_out * n)) if held_out > 0 else 0
    if n - count < 1:
        raise Pretrain3DError(f"{n} usable molecules: too few to hold out {held_out:.0%} and still train")
    return np.sort(order[count:]), np.sort(order[:count])


def _lr(settings: Pretrain3DSettings, step: int) -> float:
    """Linear warm-up to `lr`, then constant: a function of the step alone, so a longer run continues a shorter."""
    return settings.lr * min(1.0, (step + 1) / settings.warmup_steps) if settings.warmup_steps else settings.lr


def evaluate(encoder: UniMolEncoder, heads: PretrainHeads, items: Sequence[ConformerTokens],
             settings: Pretrain3DSettings, step: int) -> HeldOut:
    """Scores on `items` with the same masks at every call (seeded by batch, not by step); eval mode, no grad."""
    modes = encoder.training, heads.training
    encoder.eval()
    heads.eval()
    loss = weight = 0.0
    count = correct = 0
    coord_error = noisy_error = 0.0
    with torch.no_grad():
        for start in range(0, len(items), settings.batch_size):
            tokens, coords = collate_conformers(list(items[start:start + settings.batch_size]))
            generator = torch.Generator().manual_seed(_stream_seed(settings.seed, 2, start))
            losses = pretrain_losses(encoder, heads, tokens, coords, mask_batch(tokens, coords, settings.masking,
                                                                                 generator), settings)
            loss += float(losses.total) * losses.atoms
            weight += losses.atoms
            count, correct = count + losses.atoms, correct + losses.correct
            coord_error, noisy_error = coord_error + losses.coord_error, noisy_error + losses.noisy_error
    encoder.train(modes[0])
    heads.train(modes[1])
    per = max(count, 1)
    return HeldOut(step, loss / max(weight, 1.0), correct / per, coord_error / per, noisy_error / per, count)


def _named_parameters(encoder: UniMolEncoder, heads: PretrainHeads) -> dict[str, nn.Parameter]:
    """Encoder and head parameters under their Uni-Mol names (disjoint by construction), in optimiser order."""
    return {**dict(encoder.named_parameters()), **dict(heads.named_parameters())}


def _save_checkpoint(directory: Path, encoder: UniMolEncoder, heads: PretrainHeads,
                     optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    from molbridge.state_files import write_optimizer_state

    with atomic_directory(directory) as staging:
        weights = {k: v.detach().contiguous() for k, v in {**encoder.state_dict(), **heads.state_dict()}.items()}
        save_file(weights, str(staging / WEIGHTS_FILE))
        write_optimizer_state(staging, optimizer.state_dict())
        (staging / STATE_FILE).write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")


def _load_checkpoint(directory: Path, encoder: UniMolEncoder, heads: PretrainHeads,
                     optimizer: torch.optim.Optimizer, identity: dict[str, Any]) -> dict[str, Any]:
    """Restore a checkpoint of this run (same settings and molecules) into the objects; returns its state."""
    from molbridge.state_files import read_optimizer_state

    try:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        weights = load_file(str(directory / WEIGHTS_FILE))
    except (OSError, ValueError, SafetensorError) as err:
        raise FileFormatError(str(directory), None, f"unreadable checkpoint ({type(err).__name__}: {err}); "
                              "remove it to start over") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise FileFormatError(str(directory / STATE_FILE), None, f"not a {CHECKPOINT_FORMAT} checkpoint")
    differ = sorted(k for k in identity if state.get("identity", {}).get(k) != identity[k])
    if differ:
        raise Pretrain3DError(f"{directory} belongs to a run with other {', '.join(differ)}; resume with the same "
                              "settings and molecules, or use a new out dir")
    try:
        encoder.load_state_dict({k: v for k, v in weights.items() if not k.startswith(HEAD_PREFIXES)})
        heads.load_state_dict({k: v for k, v in weights.items() if k.startswith(HEAD_PREFIXES)})
    except RuntimeError as err:
        raise FileFormatError(str(directory / WEIGHTS_FILE), None,
                              f"weights do not fit the run's model: {err}") from None
    optimizer.load_state_dict(read_optimizer_state(directory))
    return state


def save_encoder(encoder: UniMolEncoder, directory: str | Path) -> Path:
    """Write ``config.json`` (UniMolConfig fields: the registry's settings) + ``model.safetensors`` (Uni-Mol names)."""
    with atomic_directory(directory) as staging:
        (staging / CONFIG_FILE).write_text(json.dumps(asdict(encoder.config), indent=2) + "\n", encoding="utf-8")
        save_file({k: v.detach().contiguous() for k, v in encoder.state_dict().items()}, str(staging / WEIGHTS_FILE))
    return Path(directory)


def load_pretrained_3d(path: str | Path) -> UniMolEncoder:
    """The encoder `pretrain_3d` saved, in eval mode: the one Uni-Mol weight loader reads its directory (sizes from
    the weights, any misfit named), as `multimodal.encoder_checkpoint` does."""
    from molbridge.models.encoders.unimol_weights import load_unimol_checkpoint

    encoder, _ = load_unimol_checkpoint(path)
    return encoder.eval()


def pretrain_3d(settings: Pretrain3DSettings, out: str | Path, progress: ProgressFn | None = None,
                *, molecules: Sequence[tuple[str, ConformerTokens]] | None = None,
                skipped: Sequence[Skipped] = ()) -> Pretrain3DResult:
    """Pre-train a Uni-Mol encoder until `settings.steps` steps in total (across resumes) and save it.

    Writes ``out/checkpoint/`` (resume state: weights with the heads, optimiser, step, history) and
    ``out/encoder/`` (for :func:`load_pretrained_3d`, or the registry's `unimol` settings + weights).
    Calling again with the same `out` and settings resumes and gives bit-identical weights to an
    uninterrupted run. `molecules` (with their `skipped`) replaces the settings' sources, for callers that
    built their own conformers.
    """
    settings.check()
    started = time.monotonic()
    if molecules is None:
        molecules, skipped = gather_molecules(settings, progress)
    if not molecules:
        raise Pretrain3DError(f"no usable molecule ({len(skipped)} skipped"
                              + (f"; first: {skipped[0].source}: {skipped[0].reason})" if skipped else ")"))
    train_at, held_at = _split(len(molecules), settings.held_out, settings.seed)
    train = [molecules[i][1] for i in train_at]
    held = [molecules[i][1] for i in held_at]
    batch_size = min(settings.batch_size, len(train))
    settings_json = settings.to_json()
    identity = {"settings": {k: v for k, v in settings_json.items() if k not in _FREE_ON_RESUME},
                "molecules": _fingerprint(molecules)}
    out = Path(out)
    checkpoint = out / CHECKPOINT_DIR

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        encoder, heads = UniMolEncoder(settings.encoder), PretrainHeads(settings.encoder)
        parameters = _named_parameters(encoder, heads)
        optimizer = torch.optim.AdamW(parameters.values(), lr=settings.lr, betas=(0.9, 0.99), eps=1e-6,
                                      weight_decay=settings.weight_decay)
        step, losses, evaluations = 0, [], []
        if (checkpoint / STATE_FILE).is_file():
            state = _load_checkpoint(checkpoint, encoder, heads, optimizer, identity)
            step, losses = state["step"], list(state["losses"])
            evaluations = [HeldOut(**e) for e in state["evaluations"]]
        resumed_from = step

        def save() -> None:
            _save_checkpoint(checkpoint, encoder, heads, optimizer, {
                "format": CHECKPOINT_FORMAT, "identity": identity, "settings": settings_json, "step": step,
                "rng": "derived from (seed, step): nothing else to store", "losses": losses,
                "evaluations": [asdict(e) for e in evaluations]})

        def held_out() -> None:
            if held and (not evaluations or evaluations[-1].step != step):
                evaluations.append(evaluate(encoder, heads, held, settings, step))
                e = evaluations[-1]
                log.info("held-out after %d steps: loss %.4f, atom accuracy %.3f, coordinate error %.3f Å "
                         "(noisy input %.3f Å)", step, e.loss, e.atom_accuracy, e.coord_error, e.noisy_coord_error)

        per_epoch = len(train) // batch_size
        order_epoch, order = -1, np.empty(0, dtype=np.int64)
        encoder.train()
        heads.train()
        if step == 0:
            held_out()
        while step < settings.steps:
            epoch, slot = divmod(step, per_epoch)
            if epoch != order_epoch:
                order_epoch = epoch
                order = np.random.default_rng(_stream_seed(settings.seed, 0, epoch)).permutation(len(train))
            tokens, coords = collate_conformers([train[i] for i in order[slot * batch_size:(slot + 1) * batch_size]])
            step_seed = _stream_seed(settings.seed, 1, step)
            torch.manual_seed(step_seed)  # dropout
            corrupted = mask_batch(tokens, coords, settings.masking, torch.Generator().manual_seed(step_seed))
            result = pretrain_losses(encoder, heads, tokens, coords, corrupted, settings)
            for group in optimizer.param_groups:
                group["lr"] = _lr(settings, step)
            optimizer.zero_grad(set_to_none=True)
            result.total.backward()
            if settings.clip_norm > 0:
                nn.utils.clip_grad_norm_(list(parameters.values()), settings.clip_norm)
            optimizer.step()
            step += 1
            losses.append(result.total.item())
            note = f"loss {losses[-1]:.3f}"
            if evaluations:
                note += f" | held-out acc {evaluations[-1].atom_accuracy:.2f}, {evaluations[-1].coord_error:.2f} Å"
            report(progress, "pretrain", step, settings.steps, unit="steps", note=note,
                   values={"loss": losses[-1], "token_loss": result.token.item(), "coord_loss": result.coord.item(),
                           "distance_loss": result.distance.item()})
            if step % settings.eval_every == 0:
                held_out()
            if step % settings.checkpoint_every == 0:
                save()
        held_out()
        save()
    encoder_dir = save_encoder(encoder.eval(), out / ENCODER_DIR)
    window = losses[-_LOSS_WINDOW:]
    return Pretrain3DResult(
        steps=step, resumed_from=resumed_from, first_loss=losses[0] if losses else math.nan,
        final_loss=float(np.mean(window)) if window else math.nan, train_molecules=len(train),
        held_out_molecules=len(held), skipped=list(skipped), evaluations=evaluations,
        seconds=time.monotonic() - started, encoder_dir=encoder_dir)


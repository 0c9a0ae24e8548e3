"""A conformer as a 3D encoder reads it: heavy-atom tokens in Uni-Mol's vocabulary and centred coordinates.

Uni-Mol's no-H model (and 3D-MoLM, which feeds it) sees a molecule as its heavy atoms only, at
most 256 of them, coordinates centred on their mean, wrapped in a [CLS] ... [SEP] pair whose
coordinates are the origin. The vocabulary is Uni-Mol's own (`UNIMOL_TOKENS`, in its order, so
released weights line up); an element outside it becomes [UNK] and is counted, never silently
dropped. A molecule over the atom cap keeps a seeded random subset of its atoms, as Uni-Mol
does, and says so (`cropped`).

Bad geometry (NaN or infinite coordinates, an atom count that differs from the coordinate rows,
no heavy atom) raises `ConformerInputError` naming the record, so a batch job can count it and
go on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from molbridge.errors import EncoderInputError
from molbridge.records import Conformer

# Uni-Mol's molecule dictionary (mol.dict.txt) in order, then the [MASK] its model appends.
UNIMOL_TOKENS = (
    "[PAD]", "[CLS]", "[SEP]", "[UNK]",
    "C", "N", "O", "S", "H", "Cl", "F", "Br", "I", "Si", "P", "B", "Na", "K", "Al", "Ca",
    "Sn", "As", "Hg", "Fe", "Zn", "Cr", "Se", "Gd", "Au", "Li",
    "[MASK]",
)
TOKEN_ID = {token: i for i, token in enumerate(UNIMOL_TOKENS)}
PAD, CLS, SEP, UNK, MASK = (TOKEN_ID[t] for t in ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"))
MAX_ATOMS = 256


class ConformerInputError(EncoderInputError):
    """A conformer a 3D encoder cannot read; names the record and the reason."""


@dataclass(frozen=True)
class ConformerTokens:
    """[CLS] atoms [SEP] as token ids, with coordinates (Å, centred; the two specials at the origin)."""

    tokens: np.ndarray  # (n + 2,) int64
    coords: np.ndarray  # (n + 2, 3) float32
    unknown: int  # atoms whose element is not in the vocabulary (read as [UNK])
    cropped: int  # heavy atoms left out by the atom cap


def conformer_tokens(conformer: Conformer, record_id: str, *, max_atoms: int = MAX_ATOMS,
                     seed: int = 0) -> ConformerTokens:
    """Tokens and coordinates of `conformer`'s heavy atoms; a seeded subset when there are over `max_atoms`."""
    atoms, coords = _checked(conformer.atoms, conformer.coords, record_id)
    heavy = np.array([symbol != "H" for symbol in atoms])
    if not heavy.any():
        raise ConformerInputError(record_id, "the conformer has no heavy atom")
    kept = np.flatnonzero(heavy)
    cropped = max(len(kept) - max_atoms, 0)
    if cropped:
        kept = np.sort(np.random.default_rng(seed).choice(kept, size=max_atoms, replace=False))
    ids = [TOKEN_ID.get(atoms[i], UNK) if atoms[i] not in _SPECIAL else UNK for i in kept]
    xyz = coords[kept] - coords[kept].mean(axis=0)
    tokens = np.array([CLS, *ids, SEP], dtype=np.int64)
    padded = np.zeros((len(kept) + 2, 3), dtype=np.float32)
    padded[1:-1] = xyz
    return ConformerTokens(tokens, padded, sum(i == UNK for i in ids), cropped)


_SPECIAL = frozenset(t for t in UNIMOL_TOKENS if t.startswith("["))


def _checked(atoms: list[str], coords: list, record_id: str) -> tuple[list[str], np.ndarray]:
    if len(atoms) != len(coords):
        raise ConformerInputError(record_id, f"{len(atoms)} atoms but {len(coords)} coordinate rows")
    array = np.asarray(coords, dtype=np.float64)
    if array.shape != (len(atoms), 3):
        raise ConformerInputError(record_id, f"coordinates have shape {array.shape}, expected ({len(atoms)}, 3)")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise ConformerInputError(record_id, f"coordinates of atom {bad} ({atoms[bad]}) are not finite")
    return atoms, array

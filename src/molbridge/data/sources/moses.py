"""MOSES (Polykovskiy et al. 2020, MIT): 1.58 M drug-like training SMILES from the PyPI package `molsets`.

The gzipped one-column CSV is located inside the package, not imported (molsets' imports need
an old torch/pandas stack). Used for encoder pre-training and as a large molecule source.
"""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from molbridge.errors import FileFormatError, MissingResourceError, MolbridgeError

SOURCE = "moses"
LICENSE = "MIT (MOSES, Polykovskiy et al. 2020); molecules from ZINC Clean Leads"
MOSES_INSTALL = "pip install --no-deps molsets"


class MosesError(MolbridgeError, ValueError):
    """A request the MOSES reader cannot serve (a negative limit)."""


def moses_path() -> Path:
    """The MOSES training SMILES shipped in the `molsets` package, located without importing it."""
    spec = importlib.util.find_spec("moses")
    if spec is None or spec.origin is None:
        raise MissingResourceError(f"MOSES SMILES not found: the 'molsets' package is not installed ({MOSES_INSTALL})")
    path = Path(spec.origin).parent / "dataset" / "data" / "train.csv.gz"
    if not path.is_file():
        raise MissingResourceError(f"MOSES SMILES not found at {path}; reinstall with {MOSES_INSTALL}")
    return path


def read_moses_smiles(limit: int | None = None, *, seed: int = 0) -> list[str]:
    """MOSES training SMILES (1.58 M); with `limit`, a seeded random subset kept in file order."""
    if limit is not None and limit < 0:
        raise MosesError(f"limit must be >= 0, got {limit}")
    path = moses_path()
    with gzip.open(path, "rb") as handle:
        lines = handle.read().decode("utf-8").splitlines()
    if not lines or lines[0].strip() != "SMILES":  # a one-column table, so plain lines, 10x faster than csv
        raise FileFormatError(str(path), 1, f"expected the one-column header 'SMILES', found {lines[:1]!r}")
    smiles = [line for line in lines[1:] if line]
    if limit is None or limit >= len(smiles):
        return smiles
    chosen = np.sort(np.random.default_rng(seed).choice(len(smiles), size=limit, replace=False))
    return [smiles[i] for i in chosen]


def iter_moses(path: str | Path | None = None) -> Iterator[tuple[int, str]]:
    """`(row number, SMILES)` of the MOSES training file in file order, streamed."""
    path = Path(path) if path is not None else moses_path()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        header = handle.readline().strip()
        if header != "SMILES":
            raise FileFormatError(str(path), 1, f"expected the one-column header 'SMILES', found {header!r}")
        for number, line in enumerate(handle, start=2):
            if line.strip():
                yield number, line.strip()

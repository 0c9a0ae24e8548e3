"""A persistent store of reference molecules' scoring features: many checkpoints scored against one test set
pay for parsing and fingerprinting its references once.

One `.npz` file per reference set (no pickles: strings as UTF-8 bytes with offsets, fingerprints as arrays),
named by a hash of the set's distinct strings, the RDKit version, the Morgan radius and this format's version,
so a changed test set, RDKit or setting is a miss, never a stale hit. A file holds what scoring has needed so
far (every reference parsed; InChI and fingerprints of those that met a valid output; canonical SMILES once
FCD asked for them) and grows when a later run needs more. It lives in `$MOLBRIDGE_FEATURE_CACHE`, else
`cache_dir()/eval-features`; setting the variable to `off` (or `0`, `false`, `none`, empty) disables it.
An unreadable or inconsistent file is a miss, with a warning; a failed write is a warning too: the cache
can slow scoring down, never change or stop it.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rdkit

from molbridge.atomic import atomic_path
from molbridge.cache import cache_dir
from molbridge.eval.mol_features import Fingerprints, Molecule

CACHE_ENV = "MOLBRIDGE_FEATURE_CACHE"
_OFF = {"", "0", "off", "false", "none", "no"}
_FORMAT = 1
_INVALID, _PARSED, _FINGERPRINTED = 0, 1, 2


def default_directory() -> Path | None:
    """`$MOLBRIDGE_FEATURE_CACHE` (None when it says off), else `cache_dir()/eval-features`."""
    env = os.environ.get(CACHE_ENV)
    if env is None:
        return cache_dir() / "eval-features"
    return None if env.strip().lower() in _OFF else Path(env).expanduser()


@dataclass(frozen=True)
class ReferenceCache:
    """The cache file of one reference set."""

    path: Path
    smiles: frozenset[str]

    @classmethod
    def of(cls, directory: Path, references: Iterable[str], morgan_radius: int) -> ReferenceCache:
        smiles = frozenset(references)
        key = json.dumps({"format": _FORMAT, "rdkit": rdkit.__version__, "morgan_radius": morgan_radius,
                          "smiles": sorted(smiles)}, ensure_ascii=False)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        return cls(Path(directory) / f"references-{digest}.npz", smiles)

    def load(self) -> dict[str, Molecule]:
        """The stored molecules; empty when there is no file, or (with a warning) an unreadable one."""
        if not self.path.is_file():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                molecules = _decode({name: data[name] for name in data.files})
            if set(molecules) != self.smiles:
                raise ValueError("it holds another reference set")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            warnings.warn(f"reference feature cache {self.path} is unreadable ({err}); recomputing it",
                          RuntimeWarning, stacklevel=2)
            return {}
        return molecules

    def save(self, molecules: Mapping[str, Molecule]) -> None:
        """Store the reference set's molecules (all of them must be given), replacing the file atomically."""
        arrays = _encode([(s, molecules[s]) for s in sorted(self.smiles)])
        try:
            with atomic_path(self.path) as tmp, open(tmp, "wb") as handle:
                np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stubs miss keyword arrays
        except OSError as err:
            warnings.warn(f"could not write the reference feature cache {self.path} ({err})", RuntimeWarning,
                          stacklevel=2)


def _encode(items: list[tuple[str, Molecule]]) -> dict[str, np.ndarray]:
    n = len(items)
    mols = [m for _, m in items]
    prints = [m.fingerprints for m in mols]
    first = next((p for p in prints if p is not None), None)
    maccs = np.zeros((n, 0 if first is None else len(first.maccs)), dtype=np.uint8)
    rdk = np.zeros((n, 0 if first is None else len(first.rdk)), dtype=np.uint8)
    for i, p in enumerate(prints):
        if p is not None:
            maccs[i], rdk[i] = p.maccs, p.rdk
    empty_keys, empty_counts = np.zeros(0, np.uint64), np.zeros(0, np.uint32)
    return {
        "status": np.array([_FINGERPRINTED if p is not None else _PARSED if m.valid else _INVALID
                            for m, p in zip(mols, prints)], dtype=np.int8),
        **_strings("smiles", [s for s, _ in items]),
        "has_canonical": np.array([m.canonical is not None for m in mols], dtype=bool),
        **_strings("canonical", [m.canonical or "" for m in mols]),
        **_strings("failure", [m.failure or "" for m in mols]),
        **_strings("inchi", [p.inchi if p is not None else "" for p in prints]),
        "maccs": maccs,
        "rdk": rdk,
        "morgan_offsets": np.cumsum([0, *(len(p.morgan_keys) if p is not None else 0 for p in prints)]),
        "morgan_keys": np.concatenate([empty_keys, *(p.morgan_keys for p in prints if p is not None)]),
        "morgan_counts": np.concatenate([empty_counts, *(p.morgan_counts for p in prints if p is not None)]),
    }


def _decode(data: dict[str, np.ndarray]) -> dict[str, Molecule]:
    status = data["status"]
    n = len(status)
    smiles, canonical, failure, inchi = (_read_strings(data, name, n) for name in ("smiles", "canonical", "failure",
                                                                                  "inchi"))
    maccs, rdk, keys, counts = data["maccs"], data["rdk"], data["morgan_keys"], data["morgan_counts"]
    has_canonical = data["has_canonical"]
    offsets = _offsets(data["morgan_offsets"], n, len(keys))
    if len(maccs) != n or len(rdk) != n or len(counts) != len(keys) or len(has_canonical) != n \
            or not set(np.unique(status)) <= {0, 1, 2}:
        raise ValueError("its arrays disagree in length")
    if (status == _FINGERPRINTED).any() and not (maccs.dtype == rdk.dtype == np.uint8 and maccs.ndim == rdk.ndim == 2
                                                  and maccs.shape[1] and rdk.shape[1]):
        raise ValueError("its fingerprint arrays have the wrong shape")
    molecules: dict[str, Molecule] = {}
    for i, s in enumerate(smiles):
        if status[i] == _INVALID:
            molecules[s] = Molecule(valid=False, failure=failure[i])
            continue
        prints = None
        if status[i] == _FINGERPRINTED:
            start, end = offsets[i], offsets[i + 1]
            prints = Fingerprints(inchi[i], maccs[i], rdk[i], keys[start:end], counts[start:end])
        molecules[s] = Molecule(valid=True, canonical=canonical[i] if has_canonical[i] else None, fingerprints=prints)
    return molecules


def _strings(name: str, values: list[str]) -> dict[str, np.ndarray]:
    encoded = [v.encode("utf-8") for v in values]
    return {f"{name}_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
            f"{name}_offsets": np.cumsum([0, *map(len, encoded)])}


def _read_strings(data: dict[str, np.ndarray], name: str, n: int) -> list[str]:
    blob = data[f"{name}_bytes"].tobytes()
    offsets = _offsets(data[f"{name}_offsets"], n, len(blob))
    return [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]


def _offsets(offsets: np.ndarray, n: int, total: int) -> list[int]:
    """Offsets checked to cut `total` items into `n` runs (a damaged file must not slice silently wrong)."""
    if offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != total or (np.diff(offsets) < 0).any():
        raise ValueError("its offsets are inconsistent")
    return [int(v) for v in offsets]

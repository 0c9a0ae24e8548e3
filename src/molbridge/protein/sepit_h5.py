"""SEPIT-Data's structures file `pdb.h5`: one HDF5 group per protein id (AlphaFold DB ids) holding `sequence`
(a one-element byte-string array) and `node_position` (Cα positions, residues × 3, Å), read with h5py.

A group whose positions do not match its sequence residue for residue is reported with both
lengths and left out, never trimmed or padded into alignment (SEPIT's collator silently pads or
cuts); NaN positions are reported the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from molbridge.errors import FileFormatError


@dataclass(frozen=True)
class Structure:
    sequence: str
    coords: list[list[float]]  # one Cα position per residue


def read_pdb_h5(path: str | Path, wanted: set[str]) -> tuple[dict[str, Structure], dict[str, str]]:
    """(id → structure, id → why it was left out) for the `wanted` ids the file holds."""
    import h5py

    found: dict[str, Structure] = {}
    refused: dict[str, str] = {}
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise FileFormatError(str(path), None, f"not an HDF5 file: {err}") from None
    with handle:
        for name in sorted(wanted):
            group = handle.get(name)
            if group is None:
                continue
            if not isinstance(group, h5py.Group) or "sequence" not in group or "node_position" not in group:
                refused[name] = "not a group with `sequence` and `node_position`"
                continue
            raw = group["sequence"][()]
            sequence = (raw[0] if np.ndim(raw) else raw)
            sequence = sequence.decode() if isinstance(sequence, bytes) else str(sequence)
            positions = np.asarray(group["node_position"][()], dtype=np.float64)
            if positions.ndim != 2 or positions.shape[1] != 3:
                refused[name] = f"node_position has shape {positions.shape}, expected residues × 3"
            elif len(positions) != len(sequence):
                refused[name] = f"{len(positions)} positions for a sequence of {len(sequence)} residues"
            elif not np.isfinite(positions).all():
                refused[name] = "NaN or infinite positions"
            else:
                found[name] = Structure(sequence, positions.tolist())
    return found, refused

"""SEPIT-Data's pdb.h5 read with h5py: usable structures, and why the others are left out."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from molbridge.errors import FileFormatError
from molbridge.protein.sepit_h5 import read_pdb_h5


def test_structures_and_the_reasons_others_are_left_out(tmp_path) -> None:
    path = tmp_path / "pdb.h5"
    with h5py.File(path, "w") as handle:
        good = handle.create_group("AF-P1")
        good["sequence"] = np.array([b"MKT"])
        good["node_position"] = np.arange(9, dtype=np.float32).reshape(3, 3)
        nan = handle.create_group("AF-P2")
        nan["sequence"] = np.array([b"MK"])
        nan["node_position"] = np.array([[0.0, 1.0, np.nan], [1.0, 2.0, 3.0]])
        flat = handle.create_group("AF-P3")
        flat["sequence"] = np.array([b"MK"])
        flat["node_position"] = np.zeros(6)
        handle.create_group("AF-P4")["sequence"] = np.array([b"M"])
    found, refused = read_pdb_h5(path, {"AF-P1", "AF-P2", "AF-P3", "AF-P4", "AF-P5"})
    assert found["AF-P1"].sequence == "MKT" and found["AF-P1"].coords[2] == [6.0, 7.0, 8.0]
    assert refused == {"AF-P2": "NaN or infinite positions",
                       "AF-P3": "node_position has shape (6,), expected residues × 3",
                       "AF-P4": "not a group with `sequence` and `node_position`"}
    assert "AF-P5" not in found and "AF-P5" not in refused  # absent: the caller counts it


def test_a_file_that_is_not_hdf5_is_a_format_error(tmp_path) -> None:
    path = tmp_path / "pdb.h5"
    path.write_text("not hdf5")
    with pytest.raises(FileFormatError, match="not an HDF5 file"):
        read_pdb_h5(path, {"P1"})

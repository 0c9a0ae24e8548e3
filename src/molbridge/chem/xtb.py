"""Frontier-orbital energies with GFN2-xTB (PyPI `tblite`): HOMO, LUMO and gap of a given geometry.

Why: QM9's HOMO/LUMO come from B3LYP/6-31G(2df,p), which only QM9's molecules have; GFN2-xTB gives
the same quantities for any molecule with 3D coordinates in milliseconds (3D-MoLM's PubChemQC
properties are DFT; xTB is the laptop-scale stand-in, and its values differ systematically from
DFT, so a record says which method produced it). Closed-shell neutral molecules by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem

from molbridge.errors import MolbridgeError

HARTREE_TO_EV = 27.211386245988
BOHR_PER_ANGSTROM = 1 / 0.529177210903
METHOD = "GFN2-xTB (tblite)"


class XTBError(MolbridgeError, RuntimeError):
    """tblite could not converge or was given an impossible system; carries its reason."""


@dataclass(frozen=True)
class Orbitals:
    homo_ev: float
    lumo_ev: float
    gap_ev: float
    energy_ha: float


def frontier_orbitals(atoms: Sequence[str], coords: Sequence[Sequence[float]], *, charge: int = 0) -> Orbitals:
    """HOMO/LUMO (eV) and total energy (Ha) of `atoms` at `coords` (Å), by a GFN2-xTB single point."""
    from tblite.interface import Calculator

    table = Chem.GetPeriodicTable()
    try:
        numbers = np.array([table.GetAtomicNumber(symbol) for symbol in atoms])
    except RuntimeError as err:
        raise XTBError(f"unknown element in {list(atoms)[:5]}...: {err}") from None
    positions = np.asarray(coords, dtype=float) * BOHR_PER_ANGSTROM
    try:
        calculator = Calculator("GFN2-xTB", numbers, positions, charge=float(charge))
        calculator.set("verbosity", 0)
        result = calculator.singlepoint()
    except RuntimeError as err:
        raise XTBError(f"GFN2-xTB failed: {str(err).strip().splitlines()[-1] if str(err).strip() else err}") from None
    energies, occupations = result.get("orbital-energies"), result.get("orbital-occupations")
    occupied = np.flatnonzero(occupations > 1.0)  # spin-restricted: 2 per filled orbital, smeared near the gap
    if not len(occupied) or occupied[-1] + 1 >= len(energies):
        raise XTBError("no occupied/unoccupied orbital pair")
    homo, lumo = energies[occupied[-1]] * HARTREE_TO_EV, energies[occupied[-1] + 1] * HARTREE_TO_EV
    return Orbitals(float(homo), float(lumo), float(lumo - homo), float(result.get("energy")))

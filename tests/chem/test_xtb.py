"""GFN2-xTB frontier orbitals through tblite, on real QM9 geometries."""

from __future__ import annotations

import itertools

import pytest

from molbridge.chem.xtb import XTBError, frontier_orbitals
from molbridge.data.sources.qm9 import HARTREE_TO_EV, read_qm9


def test_qm9_molecules_get_plausible_deterministic_orbitals():
    for molecule in itertools.islice(read_qm9(), 100, 110):
        orbitals = frontier_orbitals(molecule.atoms, molecule.coords)
        assert orbitals.lumo_ev > orbitals.homo_ev and orbitals.gap_ev == pytest.approx(orbitals.lumo_ev - orbitals.homo_ev)
        assert -16 < orbitals.homo_ev < -8 and orbitals.energy_ha < 0  # xTB HOMOs sit near -10 eV for organics
        dft = molecule.properties["homo"] * HARTREE_TO_EV
        assert abs(orbitals.homo_ev - dft) < 6  # another method, same molecule: the same region
        assert frontier_orbitals(molecule.atoms, molecule.coords) == orbitals


def test_an_open_shell_or_unknown_element_is_an_xtb_error():
    with pytest.raises(XTBError):
        frontier_orbitals(["H"], [(0.0, 0.0, 0.0)])
    with pytest.raises(XTBError, match="unknown element"):
        frontier_orbitals(["Xx"], [(0.0, 0.0, 0.0)])


def test_qm9_records_with_xtb_say_which_method(tmp_path):
    from tests.conftest import records_of

    molecule = next(itertools.islice(read_qm9(), 200, 201))
    by = {r.meta.extra["property"]: r for r in records_of("qm9", molecule, ["computed_property"], quantum="xtb")}
    assert by["homo"].meta.extra["method"] == "GFN2-xTB (tblite)" and by["logp"].meta.extra["method"] == "RDKit"
    qm9 = {r.meta.extra["property"]: r for r in records_of("qm9", molecule, ["computed_property"])}
    assert qm9["homo"].meta.extra["method"].startswith("B3LYP") and qm9["homo"].output != by["homo"].output

"""A fixed set of RDKit descriptors, so property-based metrics and reports use one definition."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rdkit import Chem
from rdkit.Chem import Crippen, GraphDescriptors, rdMolDescriptors
from rdkit.Chem import Descriptors as _RDKitDescriptors


@dataclass(frozen=True)
class Descriptors:
    """Physico-chemical profile of one molecule (RDKit definitions, average masses)."""

    mol_weight: float
    logp: float
    tpsa: float
    bertz_complexity: float
    heavy_atoms: int
    rings: int
    hbd: int
    hba: int
    rotatable_bonds: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON/CSV rows."""
        return asdict(self)


def descriptors(mol: Chem.Mol) -> Descriptors:
    """Compute :class:`Descriptors` for a sanitised molecule.

    logP is Wildman-Crippen (``Crippen.MolLogP``); HBD/HBA and rotatable bonds are the
    Lipinski-module definitions (``rdMolDescriptors.CalcNumHBD/HBA``, strict rotatable
    bonds), i.e. what ``rdkit.Chem.Lipinski`` reports.
    """
    return Descriptors(
        mol_weight=_RDKitDescriptors.MolWt(mol),  # type: ignore[attr-defined]  # rdkit-stubs omit lambda descriptors
        logp=Crippen.MolLogP(mol),  # type: ignore[attr-defined]  # rdkit-stubs omit lambda descriptors
        tpsa=rdMolDescriptors.CalcTPSA(mol),
        bertz_complexity=GraphDescriptors.BertzCT(mol),
        heavy_atoms=mol.GetNumHeavyAtoms(),
        rings=rdMolDescriptors.CalcNumRings(mol),
        hbd=rdMolDescriptors.CalcNumHBD(mol),
        hba=rdMolDescriptors.CalcNumHBA(mol),
        rotatable_bonds=rdMolDescriptors.CalcNumRotatableBonds(mol),
    )


_MEMO: dict[str, Descriptors] = {}
_MEMO_LIMIT = 65536


def descriptors_of(smiles: str, mol: Chem.Mol | None = None) -> Descriptors:
    """:func:`descriptors` of a SMILES, memoised (parsed only when `mol` is not given).

    Why: a build asks for the same molecule's profile from several places (its tasks, the
    dataset card), and BertzCT alone costs ~0.5 ms.
    """
    if smiles not in _MEMO:
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        if mol is None:
            from molbridge.chem.parse import to_mol

            mol = to_mol(smiles)
        _MEMO[smiles] = descriptors(mol)
    return _MEMO[smiles]

"""Molecule layer: parsing with typed errors, identifiers, descriptors, fingerprints, scaffolds.

Importing this package routes RDKit's C++ log into the ``"rdkit"`` Python logger (once).
"""

from molbridge.chem.batch import (
    BatchResult,
    canonical_many,
    descriptors_many,
    map_molecules,
    parse_many,
    selfies_many,
)
from molbridge.chem.descriptors import Descriptors, descriptors
from molbridge.chem.fingerprints import maccs, morgan_bits, morgan_counts, rdk, tanimoto
from molbridge.chem.parse import (
    canonical_smiles,
    connectivity_block,
    failure_kind,
    formula,
    from_selfies,
    mol_to_selfies,
    to_inchi,
    to_inchikey,
    to_mol,
    to_selfies,
    unescape_chebi,
)
from molbridge.chem.rdkit_log import (
    capture_rdkit_messages,
    divert_rdkit_messages,
    enable_python_logging,
)
from molbridge.chem.scaffolds import murcko_scaffold

enable_python_logging()

__all__ = [
    "BatchResult",
    "Descriptors",
    "canonical_many",
    "canonical_smiles",
    "capture_rdkit_messages",
    "connectivity_block",
    "descriptors",
    "descriptors_many",
    "divert_rdkit_messages",
    "enable_python_logging",
    "failure_kind",
    "formula",
    "from_selfies",
    "maccs",
    "map_molecules",
    "mol_to_selfies",
    "morgan_bits",
    "morgan_counts",
    "murcko_scaffold",
    "parse_many",
    "rdk",
    "selfies_many",
    "tanimoto",
    "to_inchi",
    "to_inchikey",
    "to_mol",
    "to_selfies",
    "unescape_chebi",
]

"""Modality translation (ChEBI-20-MM / SMolInstruct style): SMILES ↔ SELFIES, SMILES → InChI, SMILES ↔ IUPAC name.

The SMILES shown is RDKit's canonical SMILES; SELFIES and InChI are computed from it, the IUPAC
name is the source's (B3DB takes it from PubChem). Outputs are the bare target string, which is
what the scoring engine's exact-match and validity metrics read.
"""

from __future__ import annotations

from molbridge.chem.parse import canonical_smiles, mol_to_selfies, to_inchi, to_mol
from molbridge.data.records import Modalities, Record, make_record
from molbridge.data.sources.b3db import LICENSE, SOURCE, NamedMolecule
from molbridge.data.tasks.phrasing import choose, load_phrasings

DIRECTIONS = ("smiles2iupac", "iupac2smiles", "smiles2selfies", "selfies2smiles", "smiles2inchi")


def translation_records(molecule: NamedMolecule, directions: tuple[str, ...] = DIRECTIONS) -> list[Record]:
    """One record per direction; raises InvalidMolecule for a SMILES RDKit cannot read."""
    mol = to_mol(molecule.smiles)
    values = {"smiles": canonical_smiles(molecule.smiles), "selfies": mol_to_selfies(mol), "inchi": to_inchi(mol),
              "iupac": molecule.iupac}
    modalities = Modalities(**values)
    phrasings = load_phrasings("translation")
    meta = {"source": SOURCE, "source_id": molecule.cid or molecule.number, "license": LICENSE,
            "extra": {"name": molecule.name}}
    records = []
    for direction in directions:
        source, target = direction.split("2")
        rid = f"b3db:{molecule.number}:{direction}"
        question = choose(phrasings["question"], rid).format(source=choose(phrasings["names"][source], rid, "s"),
                                                             target=choose(phrasings["names"][target], rid, "t"))
        records.append(make_record(id=rid, task=direction, instruction=question, input=values[source],
                                   output=values[target], modalities=modalities, meta=meta))
    return records

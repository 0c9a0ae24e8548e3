"""Property tasks on molecules with QM9 quantum properties and RDKit descriptors.

Two families, after the papers that use them:
- `property_prediction` (Mol-Instructions): the molecule as SELFIES, a question naming the
  property and unit, the bare number as the answer (QM9 HOMO, LUMO and gap in hartree, the
  4 decimals QM9 publishes).
- `computed_property` (3D-MoLM's 3D-MoIT): the SMILES with its 3D conformer, a question, and a
  sentence answer with the unit: molecular weight, LogP, TPSA and Bertz complexity computed by
  RDKit (`chem.descriptors`), HOMO, LUMO and gap from QM9 converted to eV.
Every record carries `meta.extra = {property, unit, value}` so scoring reads the number
without parsing text.
"""

from __future__ import annotations

from molbridge.chem.descriptors import descriptors
from molbridge.chem.parse import canonical_smiles, mol_to_selfies, to_inchi, to_mol
from molbridge.data.records import Conformer, Modalities, Record, make_record
from molbridge.data.sources.qm9 import HARTREE_TO_EV, LICENSE, SOURCE, QM9Molecule
from molbridge.data.tasks.phrasing import choose, load_phrasings

QM9_METHOD = "B3LYP/6-31G(2df,p) (QM9)"
QUANTUM = ("homo", "lumo", "gap")
# property → (unit symbol shown in answers, decimals)
COMPUTED = {"mol_weight": ("g/mol", 2), "logp": ("", 2), "tpsa": ("A^2", 2), "bertz_complexity": ("", 1),
            "homo": ("eV", 3), "lumo": ("eV", 3), "gap": ("eV", 3)}
_SHOWN_UNIT = {"A^2": "Å²"}


def molecule_modalities(molecule: QM9Molecule) -> Modalities:
    """SMILES (canonical), SELFIES, InChI and the QM9 geometry of a molecule; raises InvalidMolecule."""
    mol = to_mol(molecule.smiles)
    return Modalities(smiles=canonical_smiles(molecule.smiles), selfies=mol_to_selfies(mol), inchi=to_inchi(mol),
                      conformer=Conformer(atoms=molecule.atoms, coords=molecule.coords, method=QM9_METHOD))


def _meta(molecule: QM9Molecule, **extra) -> dict:
    return {"source": SOURCE, "source_id": str(molecule.index), "license": LICENSE, "extra": extra}


def property_prediction(molecule: QM9Molecule, modalities: Modalities) -> list[Record]:
    """Mol-Instructions-style HOMO, LUMO and gap questions with the number (hartree) as the answer."""
    phrasings = load_phrasings("properties")
    records = []
    for name in QUANTUM:
        rid = f"qm9:{molecule.index}:property_prediction:{name}"
        question = choose(phrasings["number_question"], rid).format(
            property=choose(phrasings["names"][name], rid, "name"), unit=choose(phrasings["units"]["Ha"], rid, "unit"))
        value = molecule.properties[name]
        records.append(make_record(id=rid, task="property_prediction", instruction=question, input=modalities.selfies,
                                   output=f"{value:.4f}", modalities=modalities,
                                   meta=_meta(molecule, property=name, unit="Ha", value=value)))
    return records


def computed_property_qa(molecule: QM9Molecule, modalities: Modalities) -> list[Record]:
    """3D-MoLM-style questions on seven properties, answered in a sentence with the unit."""
    phrasings = load_phrasings("properties")
    profile = descriptors(to_mol(molecule.smiles)).as_dict()
    values = {name: profile[name] for name in ("mol_weight", "logp", "tpsa", "bertz_complexity")}
    values.update({name: molecule.properties[name] * HARTREE_TO_EV for name in QUANTUM})
    records = []
    for name, (unit, decimals) in COMPUTED.items():
        rid = f"qm9:{molecule.index}:computed_property:{name}"
        prop = choose(phrasings["names"][name], rid, "name")
        shown = f"{values[name]:.{decimals}f}" + (f" {_SHOWN_UNIT.get(unit, unit)}" if unit else "")
        answer = choose(phrasings["qa_answer"], rid, "answer").format(property=prop, a_property=with_article(prop),
                                                                     value=shown)
        records.append(make_record(
            id=rid, task="computed_property", instruction=choose(phrasings["qa_question"], rid).format(property=prop),
            input=modalities.smiles, output=_capitalised(answer), modalities=modalities,
            meta=_meta(molecule, property=name, unit=unit, value=round(values[name], decimals))))
    return records


def with_article(noun: str) -> str:
    """`noun` after "a" or "an" by its first letter (property names here start with a word, not an acronym
    read letter by letter, except HOMO/LUMO/LogP/TPSA, which all take "a")."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]

"""Property tasks: QM9 quantum properties and RDKit descriptors as questions and answers.

Two families, after the papers that use them:
- `property_prediction` (Mol-Instructions): the molecule as SELFIES, a question naming the
  property and unit, the bare number as the answer (QM9 HOMO, LUMO and gap in hartree, the
  4 decimals QM9 publishes).
- `computed_property` (3D-MoLM's 3D-MoIT): the SMILES (with its 3D conformer when the source
  has one), a question, and a sentence answer with the unit: molecular weight, LogP, TPSA and
  Bertz complexity computed by RDKit (`chem.descriptors`), and for QM9 also HOMO, LUMO and gap
  converted to eV. Any molecule source can use it (MOSES, ChEBI).
Every record carries `meta.extra = {property, unit, value}` so scoring reads the number
without parsing text. Each molecule is parsed once for all its records.
"""

from __future__ import annotations

from rdkit import Chem

from molbridge.chem.descriptors import descriptors_of
from molbridge.chem.parse import mol_to_selfies, to_inchi, to_mol
from molbridge.data.records import Conformer, Modalities, Record, make_record
from molbridge.data.sources.qm9 import HARTREE_TO_EV, QM9Molecule
from molbridge.data.sources.qm9 import LICENSE as QM9_LICENSE
from molbridge.data.tasks.phrasing import choose, load_phrasings

QM9_METHOD = "B3LYP/6-31G(2df,p) (QM9)"
QUANTUM = ("homo", "lumo", "gap")
DESCRIPTORS = ("mol_weight", "logp", "tpsa", "bertz_complexity")
# property → (unit symbol stored in meta, decimals)
COMPUTED = {"mol_weight": ("g/mol", 2), "logp": ("", 2), "tpsa": ("A^2", 2), "bertz_complexity": ("", 1),
            "homo": ("eV", 3), "lumo": ("eV", 3), "gap": ("eV", 3)}
_SHOWN_UNIT = {"A^2": "Å²"}


def modalities_of(mol: Chem.Mol, conformer: Conformer | None = None) -> Modalities:
    """Canonical SMILES, SELFIES and InChI of a parsed molecule (raises InvalidMolecule)."""
    return Modalities(smiles=Chem.MolToSmiles(mol), selfies=mol_to_selfies(mol), inchi=to_inchi(mol),
                      conformer=conformer)


def property_prediction(key: str, modalities: Modalities, hartree: dict[str, float], meta: dict) -> list[Record]:
    """Mol-Instructions-style HOMO, LUMO and gap questions with the number (hartree) as the answer."""
    phrasings = load_phrasings("properties")
    records = []
    for name in QUANTUM:
        rid = f"{key}:property_prediction:{name}"
        question = choose(phrasings["number_question"], rid).format(
            property=choose(phrasings["names"][name], rid, "name"), unit=choose(phrasings["units"]["Ha"], rid, "unit"))
        value = hartree[name]
        records.append(make_record(id=rid, task="property_prediction", instruction=question, input=modalities.selfies,
                                   output=f"{value:.4f}", modalities=modalities,
                                   meta={**meta, "extra": {"property": name, "unit": "Ha", "value": value}}))
    return records


def computed_property_qa(key: str, modalities: Modalities, values: dict[str, float], meta: dict) -> list[Record]:
    """3D-MoLM-style questions on the given properties, answered in a sentence with the unit."""
    phrasings = load_phrasings("properties")
    records = []
    for name, (unit, decimals) in COMPUTED.items():
        if name not in values:
            continue
        rid = f"{key}:computed_property:{name}"
        prop = choose(phrasings["names"][name], rid, "name")
        shown = f"{values[name]:.{decimals}f}" + (f" {_SHOWN_UNIT.get(unit, unit)}" if unit else "")
        answer = choose(phrasings["qa_answer"], rid, "answer").format(property=prop, a_property=with_article(prop),
                                                                     value=shown)
        records.append(make_record(
            id=rid, task="computed_property", instruction=choose(phrasings["qa_question"], rid).format(property=prop),
            input=modalities.smiles, output=_capitalised(answer), modalities=modalities,
            meta={**meta, "extra": {**meta.get("extra", {}), "property": name, "unit": unit,
                                    "value": round(values[name], decimals)}}))
    return records


def descriptor_values(smiles: str, mol: Chem.Mol) -> dict[str, float]:
    """The four RDKit descriptors the computed-property task asks about (memoised by canonical SMILES)."""
    profile = descriptors_of(smiles, mol).as_dict()
    return {name: profile[name] for name in DESCRIPTORS}


def qm9_records(molecule: QM9Molecule, tasks: tuple[str, ...], quantum: str = "qm9") -> list[Record]:
    """The requested property tasks for one QM9 molecule (parsed once).

    `quantum="xtb"` answers the computed-property HOMO/LUMO/gap questions with GFN2-xTB on QM9's
    geometry instead of QM9's B3LYP values (recorded in `meta.extra["method"]`); the
    Mol-Instructions property-prediction records always keep QM9's published numbers.
    """
    mol = to_mol(molecule.smiles)
    modalities = modalities_of(mol, Conformer(atoms=molecule.atoms, coords=molecule.coords, method=QM9_METHOD))
    key, meta = f"qm9:{molecule.index}", {"source": "qm9", "source_id": str(molecule.index), "license": QM9_LICENSE}
    records = property_prediction(key, modalities, molecule.properties, meta) if "property_prediction" in tasks else []
    if "computed_property" in tasks:
        records += computed_property_qa(key, modalities, descriptor_values(modalities.smiles, mol),
                                        {**meta, "extra": {"method": "RDKit"}})
        if quantum == "xtb":
            from molbridge.chem.xtb import METHOD, frontier_orbitals

            orbitals = frontier_orbitals(molecule.atoms, molecule.coords)
            values, method = {"homo": orbitals.homo_ev, "lumo": orbitals.lumo_ev, "gap": orbitals.gap_ev}, METHOD
        else:
            values, method = {name: molecule.properties[name] * HARTREE_TO_EV for name in QUANTUM}, QM9_METHOD
        records += computed_property_qa(key, modalities, values, {**meta, "extra": {"method": method}})
    return records


def molecule_records(key: str, smiles: str, meta: dict) -> list[Record]:
    """Computed-property Q&A (RDKit descriptors) for any molecule; raises InvalidMolecule."""
    mol = to_mol(smiles)
    modalities = modalities_of(mol)
    return computed_property_qa(key, modalities, descriptor_values(modalities.smiles, mol), meta)


def with_article(noun: str) -> str:
    """`noun` after "a" or "an" by its first letter (property names here start with a word, not an acronym
    read letter by letter, except HOMO/LUMO/LogP/TPSA, which all take "a")."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]

"""Molecule description generation and description-guided molecule design from ChEBI classes.

A caption is composed from ChEBI's own text: the molecule's ChEBI name, the class it belongs to
and the class definition ("The molecule is 2-oxododecanoic acid. It belongs to the class of
2-oxo monocarboxylic acids as defined by ChEBI: any monocarboxylic acid having a 2-oxo
substituent."). Nothing is invented: every clause comes from the source. Description takes the
SMILES and answers the caption; design takes the caption and answers the canonical SMILES.
"""

from __future__ import annotations

from molbridge.chem.parse import canonical_smiles, mol_to_selfies, to_inchi, to_mol
from molbridge.data.records import Modalities, Record, make_record
from molbridge.data.sources.c3p import LICENSE, SOURCE, ChEBIClass
from molbridge.data.tasks.phrasing import choose, load_phrasings

TASKS = ("molecule_description", "molecule_design")


def caption(name: str, klass: ChEBIClass) -> str:
    """A ChEBI-20-style caption built only from ChEBI's name, class name and definition."""
    definition = klass.definition.rstrip(".")
    definition = definition[:1].lower() + definition[1:] if definition[:2].istitle() else definition
    return f"The molecule is {name}. It belongs to the ChEBI class '{klass.name}', defined as {definition}."


def description_records(key: str, smiles: str, text: str, meta: dict, tasks: tuple[str, ...] = TASKS) -> list[Record]:
    """Description and/or design records for one molecule and its caption; raises InvalidMolecule."""
    mol = to_mol(smiles)
    canonical = canonical_smiles(smiles)
    modalities = Modalities(smiles=canonical, selfies=mol_to_selfies(mol), inchi=to_inchi(mol), caption=text)
    phrasings = load_phrasings("descriptions")
    records = []
    if "molecule_description" in tasks:
        rid = f"{key}:molecule_description"
        records.append(make_record(id=rid, task="molecule_description", instruction=choose(
            phrasings["describe_question"], rid), input=canonical, output=text, modalities=modalities, meta=meta))
    if "molecule_design" in tasks:
        rid = f"{key}:molecule_design"
        records.append(make_record(id=rid, task="molecule_design", instruction=choose(
            phrasings["design_question"], rid), input=text, output=canonical, modalities=modalities, meta=meta))
    return records


def class_member_records(klass: ChEBIClass, name: str, smiles: str, tasks: tuple[str, ...] = TASKS) -> list[Record]:
    """The requested tasks for one named member of a ChEBI class, captioned from ChEBI's text."""
    meta = {"source": SOURCE, "source_id": klass.chebi_id, "license": LICENSE,
            "extra": {"chebi_class": klass.name, "name": name}}
    return description_records(f"c3p:{klass.chebi_id}:{canonical_smiles(smiles)}", smiles, caption(name, klass),
                               meta, tasks)

"""ChEBI classes (c3p) and named molecules (B3DB): real packaged data, tasks built from it, bad inputs."""

from __future__ import annotations

import itertools

import pytest

from molbridge.chem.parse import canonical_smiles, from_selfies
from molbridge.data.sources.b3db import read_b3db
from molbridge.data.sources.c3p import ChEBIClass, members, read_chebi_classes
from molbridge.data.sources.catalog import class_caption as caption
from molbridge.errors import InvalidMolecule
from molbridge.tasks.molecules import DIRECTIONS
from tests.conftest import records_of

TRANSLATIONS = [f"{a}2{b}" for a, b in DIRECTIONS]


def class_member_records(klass, name, smiles):
    return records_of("chebi_classes", (klass, name, smiles), ["molecule_description", "molecule_design"])


@pytest.fixture(scope="module")
def classes():
    return list(read_chebi_classes())


def test_c3p_gives_hundreds_of_defined_classes_with_named_members(classes):
    assert len(classes) > 300 and all(c.definition for c in classes)
    assert sum(not c.chebi_id.startswith("CHEBI:") for c in classes) <= 2  # two curated classes have plain ids
    assert sum(len(c.members) for c in classes) > 5000
    oxo = next(c for c in classes if c.name == "2-oxo monocarboxylic acid")
    assert ("2-oxododecanoic acid", "C(CCCCCCCC(C(=O)O)=O)CC") in oxo.members


def test_members_come_from_true_positives_and_false_negatives_only():
    message = ("True positives: SMILES: CCO NAME: ethanol REASON: CORRECT ok\n * SMILES: CCCO NAME: propanol REASON: "
               "CORRECT ok\nFalse positives: SMILES: CC NAME: ethane REASON: WRONGLY x\nFalse negatives: SMILES: "
               "OCCO NAME: glycol REASON: MISSED y\n")
    assert members(message) == [("ethanol", "CCO"), ("propanol", "CCCO"), ("glycol", "OCCO")]


def test_unreadable_programs_are_reported(tmp_path):
    (tmp_path / "good.py").write_text("x = 1\n__metadata__ = {'chemical_class': {'id': 'CHEBI:1', 'name': 'n', "
                                      "'definition': 'A thing.'}, 'message': ''}\n")
    (tmp_path / "code.py").write_text("__metadata__ = {'chemical_class': open('x')}\n")
    (tmp_path / "empty.py").write_text("print('no metadata')\n")
    problems = []
    assert [c.chebi_id for c in read_chebi_classes(tmp_path, problems=problems)] == ["CHEBI:1"]
    assert sorted(p.where.rsplit("/", 1)[1] for p in problems) == ["code.py", "empty.py"]


def test_description_and_design_records(classes):
    oxo = next(c for c in classes if c.name == "2-oxo monocarboxylic acid")
    describe, design = class_member_records(oxo, "2-oxododecanoic acid", "C(CCCCCCCC(C(=O)O)=O)CC")
    assert describe.output == design.input == caption("2-oxododecanoic acid", oxo)
    assert describe.output.startswith("The molecule is 2-oxododecanoic acid. It belongs to the ChEBI class")
    assert "any monocarboxylic acid having a 2-oxo substituent." in describe.output
    assert design.output == canonical_smiles("C(CCCCCCCC(C(=O)O)=O)CC") == describe.input
    assert describe.meta.license.startswith("CC BY 4.0") and describe.meta.source_id == oxo.chebi_id
    with pytest.raises(InvalidMolecule):
        class_member_records(oxo, "broken", "C1CC")


def test_b3db_named_molecules_and_translations():
    problems = []
    molecules = list(itertools.islice(read_b3db(problems=problems), 300))
    assert len(molecules) == 300 and all(m.iupac and m.smiles for m in molecules)
    records = records_of("b3db", molecules[0], TRANSLATIONS)
    assert [r.task for r in records] == TRANSLATIONS
    by_task = {r.task: r for r in records}
    assert by_task["smiles2iupac"].output == molecules[0].iupac == by_task["iupac2smiles"].input
    assert canonical_smiles(from_selfies(by_task["smiles2selfies"].output)) == by_task["selfies2smiles"].output
    assert by_task["smiles2inchi"].output.startswith("InChI=1S/")
    assert all("this" in r.instruction for r in records)


def test_b3db_rows_without_names_are_counted(tmp_path):
    path = tmp_path / "b.tsv"
    path.write_text("NO.\tcompound_name\tIUPAC_name\tSMILES\tCID\tBBB+/BBB-\n1\tethanol\tethanol\tCCO\t702\tBBB+\n"
                    "2\tx\t\tCC\t\tBBB-\n3\ty\tmethane\t\t\tBBB-\n")
    problems = []
    assert [m.name for m in read_b3db(path, problems=problems)] == ["ethanol"]
    assert [p.reason for p in problems] == ["no IUPAC name", "no SMILES"]


def test_caption_keeps_chebi_text():
    klass = ChEBIClass("CHEBI:9", "diketone", "A compound that contains two ketone functionalities.", [], [], "x")
    assert caption("pentane-2,4-dione", klass) == ("The molecule is pentane-2,4-dione. It belongs to the ChEBI class "
                                                   "'diketone', defined as a compound that contains two ketone "
                                                   "functionalities.")


@pytest.mark.parametrize("name, folded", [
    ("(2s,3r)-2-amino-3-hydroxybutanoic acid", True), ("1h-indole", True), ("n,n-dimethylformamide", True),
    ("(e)-but-2-enoic acid", True), ("3-methylpentane", False), ("(2S,3R)-2-amino-3-hydroxybutanoic acid", False),
    ("2-[2-(2,4-dichloroanilino)phenyl]acetic acid", False),
])
def test_case_folded_iupac_names_are_recognised(name, folded):
    from molbridge.data.sources.b3db import case_folded

    assert case_folded(name) is folded


def test_b3db_skips_case_folded_names_with_a_reason():
    problems = []
    kept = list(read_b3db(problems=problems))
    assert 1500 < len(kept) < 2500
    assert sum("case-folded" in p.reason for p in problems) > 3000

"""Importers and exporters: lossless round trips on hand-made samples and on the shared tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from molbridge.data.formats.chebi20_tables import (
    records_from_chebi20,
    records_from_chebi20_mm,
    write_chebi20,
    write_chebi20_mm,
)
from molbridge.data.formats.moit3d import read_moit3d, write_moit3d
from molbridge.data.formats.mol_instructions import read_mol_instructions, write_mol_instructions
from molbridge.data.formats.sepit import read_sepit, write_sepit
from molbridge.data.formats.smolinstruct import read_smolinstruct, write_smolinstruct
from molbridge.errors import FileFormatError
from molbridge.records import RecordError
from tests.conftest import SHARED_DATA, require

MOL_INSTRUCTIONS = [
    {"instruction": "Please give me some details about this molecule.",
     "input": "[C][C][O]", "output": "The molecule is ethanol, a primary alcohol.",
     "metadata": {"task": "molecular_description_generation", "split": "train"}},
    {"instruction": "Create a molecule with the structure as the one described.",
     "input": "The molecule is acetic acid.", "output": "[C][C][=Branch1][C][=O][O]",
     "metadata": {"task": "description_guided_molecule_design", "split": "test", "source": "PubChem"},
     "note": "kept"},
]
MOIT = [{"instruction": "What is the HOMO-LUMO gap of this molecule?", "input": "702",
         "output": "The HOMO-LUMO Gap for the input molecule is 5.762 eV.", "task": "HOMO-LUMO Gap"},
        {"instruction": "Describe the molecule.", "input": "2244", "output": "Aspirin is ...", "task": "Description"}]
SEPIT = [{"id": "P69905", "conversation": [{"role": "user", "content": "What does <protein> do?"},
                                          {"role": "assistant", "content": "It carries oxygen."}]},
         {"id": "Q8N158", "conversation": [{"role": "user", "content": "Is <protein> a kinase?"},
                                          {"role": "assistant", "content": "No."},
                                          {"role": "user", "content": "Where is it found?"},
                                          {"role": "assistant", "content": "In the membrane."}],
          "response": "no"}]
SMOL = [{"input": "Query: What is the IUPAC name of <SMILES> CCO </SMILES>?",
         "output": "<IUPAC> ethanol </IUPAC>", "task": "name_conversion-s2i", "split": "test",
         "raw_input": "CCO", "raw_output": "ethanol"},
        {"input": "Is <SMILES>c1ccccc1O</SMILES> soluble?", "output": "<BOOLEAN> Yes </BOOLEAN>",
         "task": "property_prediction-esol", "split": "train"}]


def dump(path: Path, items, jsonl: bool = False) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items) if jsonl else json.dumps(items, indent=4))
    return path


def load(path: Path):
    text = path.read_text()
    return json.loads(text) if text.lstrip().startswith("[") else [json.loads(line) for line in text.splitlines()]


def test_mol_instructions_round_trip_and_molecules(tmp_path):
    imported = read_mol_instructions(dump(tmp_path / "molecule.json", MOL_INSTRUCTIONS))
    assert not imported.problems and [r.id for r in imported.records] == ["molecule-0", "molecule-1"]
    first, second = imported.records
    assert first.modalities.smiles == "CCO" and first.modalities.selfies == "[C][C][O]"
    assert second.modalities.smiles == "CC(=O)O" and second.meta.split == "test"
    assert first.task == "molecular_description_generation" and first.meta.source == "mol-instructions"
    write_mol_instructions(tmp_path / "out.json", imported.records)
    assert load(tmp_path / "out.json") == MOL_INSTRUCTIONS


def test_moit3d_round_trip_keeps_the_cid(tmp_path):
    imported = read_moit3d(dump(tmp_path / "3d_computed_properties_unit.json", MOIT))
    assert not imported.problems and imported.records[0].meta.source_id == "702"
    gap = imported.records[0]
    assert gap.task == "computed_property" and gap.meta.extra["published_task"] == "HOMO-LUMO Gap"
    assert (gap.meta.extra["property"], gap.meta.extra["value"], gap.meta.extra["unit"]) == ("gap", 5.762, "eV")
    assert imported.records[1].task == "molecule_description"
    write_moit3d(tmp_path / "out.json", imported.records)
    assert load(tmp_path / "out.json") == MOIT


def test_sepit_round_trip_of_single_and_multi_turn(tmp_path):
    imported = read_sepit(dump(tmp_path / "qa_test.jsonl", SEPIT, jsonl=True))
    assert not imported.problems
    single, multi = imported.records
    assert (single.instruction, single.output) == ("What does <protein> do?", "It carries oxygen.")
    assert multi.output == "No." and len(multi.meta.extra["conversation"]) == 4
    write_sepit(tmp_path / "out.jsonl", imported.records)
    assert load(tmp_path / "out.jsonl") == SEPIT


@pytest.mark.parametrize("jsonl", [False, True])
def test_smolinstruct_round_trip_and_tags(tmp_path, jsonl):
    name = "smol.jsonl" if jsonl else "smol.json"
    imported = read_smolinstruct(dump(tmp_path / name, SMOL, jsonl=jsonl))
    assert not imported.problems
    first, second = imported.records
    assert (first.modalities.smiles, first.modalities.iupac) == ("CCO", "ethanol")
    assert second.modalities.smiles == "c1ccccc1O" and second.meta.split == "train"
    write_smolinstruct(tmp_path / name.replace("smol", "out"), imported.records)
    assert load(tmp_path / name.replace("smol", "out")) == SMOL


def test_bad_records_are_reported_and_good_ones_kept(tmp_path):
    items = [MOL_INSTRUCTIONS[0], {"instruction": "x", "input": "y"}, "not an object",
             {**MOL_INSTRUCTIONS[0], "metadata": {"split": "train"}}, {**MOL_INSTRUCTIONS[0], "output": 3},
             MOL_INSTRUCTIONS[1]]
    imported = read_mol_instructions(dump(tmp_path / "m.json", items))
    assert [r.id for r in imported.records] == ["m-0", "m-5"]
    reasons = [p.reason for p in imported.problems]
    assert [p.where for p in imported.problems] == [f"{tmp_path / 'm.json'}[#{i}]" for i in (1, 2, 3, 4)]
    assert "missing field 'output'" in reasons[0] and "JSON object" in reasons[1]
    assert "task" in reasons[2] and "not a string" in reasons[3]


def test_malformed_lines_and_files(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(SEPIT[0]) + "\n{broken\n" + json.dumps({"id": "x", "conversation": []}) + "\n")
    imported = read_sepit(path)
    assert len(imported.records) == 1 and [p.where for p in imported.problems] == [f"{path}:2", f"{path}:3"]
    moit = read_moit3d(dump(tmp_path / "moit.json", [{**MOIT[0], "input": "CCO"}]))
    assert "PubChem CID" in moit.problems[0].reason
    (tmp_path / "bad.json").write_text("[{]")
    with pytest.raises(FileFormatError, match="bad.json"):
        read_mol_instructions(tmp_path / "bad.json")


@pytest.mark.parametrize("name, read, write", [
    ("chebi20/test.txt", records_from_chebi20, write_chebi20),
    ("chebi20-mm/test.csv", records_from_chebi20_mm, write_chebi20_mm),
])
def test_shared_tables_round_trip_byte_for_byte(tmp_path, name, read, write):
    source = require(SHARED_DATA / name)
    records = read(source)
    assert len(records) == 3300 and records[0].meta.split == "test"
    assert sum("smiles_raw" in r.meta.extra for r in records) == 484  # REFERENCE.md §D
    out = tmp_path / Path(name).name
    write(out, records)
    assert out.read_bytes() == source.read_bytes()


def test_chebi20_mm_modalities(tmp_path):
    path = tmp_path / "mm.csv"
    path.write_text('CID,SMILES,description,polararea,xlogp,inchi,iupacname,SELFIES\n'
                    '702,CCO,"Ethanol, a primary alcohol.",20.2,-0.1,"InChI=1S/C2H6O/c1-2-3/h3H,2-3H2,1H3",'
                    'ethanol,[C][C][O]\n')
    (record,) = records_from_chebi20_mm(path)
    m = record.modalities
    assert (m.smiles, m.iupac, m.selfies, m.caption) == ("CCO", "ethanol", "[C][C][O]", "Ethanol, a primary alcohol.")
    assert record.meta.extra["properties"] == {"polararea": 20.2, "xlogp": -0.1} and record.id == "chebi20-mm:702"
    write_chebi20_mm(tmp_path / "out.csv", [record])
    assert (tmp_path / "out.csv").read_text() == path.read_text()


def test_a_caption_with_a_tab_cannot_be_written_unquoted(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("CID\tSMILES\tdescription\n1\tCCO\tethanol\n")
    (record,) = records_from_chebi20(path)
    broken = record.model_copy(update={"modalities": record.modalities.model_copy(update={"caption": "a\tb"})})
    with pytest.raises(RecordError, match="chebi20:1"):
        write_chebi20(tmp_path / "out.txt", [broken])

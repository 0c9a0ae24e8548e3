"""Swiss-Prot flat files and PDB structures through Biopython, on small hand-written files in the real formats."""

from __future__ import annotations

import yaml

from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.sources.swissprot import read_swissprot
from molbridge.data.tasks.protein import swissprot_records
from molbridge.protein.structure import read_ca_chain

SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"


def entry(accession: str, sequence: str, function: str | None) -> str:
    comment = f"CC   -!- FUNCTION: {function} {{ECO:0000269|PubMed:123}}.\n" if function else ""
    lines = "".join(f"     {sequence[i:i + 60]}\n" for i in range(0, len(sequence), 60))
    return (f"ID   TEST_{accession}             Reviewed;  {len(sequence)} AA.\n"
            f"AC   {accession};\n"
            "DT   01-JAN-2020, integrated into UniProtKB/Swiss-Prot.\n"
            "DT   01-JAN-2020, sequence version 1.\n"
            "DT   01-JAN-2020, entry version 1.\n"
            "DE   RecName: Full=Test protein;\n"
            "OS   Escherichia coli.\n"
            "OC   Bacteria.\n"
            "OX   NCBI_TaxID=562;\n"
            + comment +
            f"SQ   SEQUENCE   {len(sequence)} AA;  1000 MW;  0000000000000000 CRC64;\n" + lines + "//\n")


def pdb(sequence: str) -> str:
    three = {"M": "MET", "K": "LYS", "T": "THR", "A": "ALA", "Y": "TYR", "I": "ILE", "Q": "GLN", "R": "ARG",
             "S": "SER", "F": "PHE", "V": "VAL", "H": "HIS", "L": "LEU", "E": "GLU", "G": "GLY"}
    lines = []
    for i, letter in enumerate(sequence, start=1):
        lines.append(f"ATOM  {2 * i - 1:5d}  N   {three[letter]} A{i:4d}    {3.8 * i - 1:8.3f}{0:8.3f}{0:8.3f}"
                     "  1.00  0.00           N")
        lines.append(f"ATOM  {2 * i:5d}  CA  {three[letter]} A{i:4d}    {3.8 * i:8.3f}{0:8.3f}{0:8.3f}"
                     "  1.00  0.00           C")
    lines.append(f"HETATM{2 * len(sequence) + 1:5d}  O   HOH A 999       0.000   5.000   0.000  1.00  0.00           O")
    return "\n".join(lines) + "\nEND\n"


def test_entries_structures_and_problems(tmp_path):
    (tmp_path / "sprot.dat").write_text(entry("P00001", SEQUENCE, "Binds DNA and represses transcription")
                                        + entry("P00002", SEQUENCE[:20], None)
                                        + entry("P00003", SEQUENCE[::-1], "Catalyses the hydrolysis of ATP"))
    structures = tmp_path / "pdb"
    structures.mkdir()
    (structures / "P00001.pdb").write_text(pdb(SEQUENCE))
    (structures / "AF-P00003-F1-model_v4.pdb").write_text(pdb(SEQUENCE[:30]))  # does not match its entry
    problems = []
    entries = list(read_swissprot(tmp_path / "sprot.dat", structures=structures, problems=problems))
    assert [e.accession for e in entries] == ["P00001", "P00003"]
    assert entries[0].function == "Binds DNA and represses transcription"
    assert len(entries[0].coords) == len(SEQUENCE) and entries[0].coords[1] == (7.6, 0.0, 0.0)
    assert entries[1].coords is None
    assert sorted(p.reason.split(" (")[0] for p in problems) == ["chain sequence", "no FUNCTION comment"]
    describe, design = swissprot_records(entries[0])
    assert describe.output == design.input == entries[0].function and design.output == SEQUENCE
    assert describe.modalities.protein_coords == entries[0].coords


def test_pdb_chain_reading_skips_waters(tmp_path):
    (tmp_path / "x.pdb").write_text(pdb("MKT"))
    sequence, coords = read_ca_chain(tmp_path / "x.pdb")
    assert sequence == "MKT" and len(coords) == 3


def test_malformed_file_keeps_earlier_entries_and_a_build_uses_swissprot(tmp_path):
    good = entry("P00001", SEQUENCE, "Binds DNA and represses transcription")
    (tmp_path / "s.dat").write_text(good + "ID   BROKEN\nSQ   nonsense\n//\n")
    problems = []
    assert [e.accession for e in read_swissprot(tmp_path / "s.dat", problems=problems)] == ["P00001"]
    assert "malformed" in problems[0].reason
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "sp", "sources": [
        {"kind": "swissprot", "path": str(tmp_path / "s.dat"), "tasks": ["protein_description"]}]}))
    card = build(load_config(config), tmp_path / "out")
    assert card["tasks"] == {"protein_description": 1} and card["problems"]["0"]["reading"] == 1

"""Swiss-Prot flat files and PDB structures through Biopython, on small hand-written files in the real formats."""

from __future__ import annotations

import gzip

import pytest
import yaml

from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.sources.swissprot import read_swissprot
from molbridge.errors import FileFormatError
from molbridge.protein.structure import read_ca_chain
from molbridge.tasks import SOURCES, TASKS

SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"


def entry(accession: str, sequence: str, function: str | None, comments: str | None = None) -> str:
    """An entry with `function` as a one-line FUNCTION comment, or with raw `comments` (CC lines)."""
    comment = comments if comments is not None else (
        f"CC   -!- FUNCTION: {function} {{ECO:0000269|PubMed:123}}.\n" if function else "")
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
    assert entries[0].function == "Binds DNA and represses transcription."
    assert len(entries[0].coords) == len(SEQUENCE) and entries[0].coords[1] == (7.6, 0.0, 0.0)
    assert entries[1].coords is None
    assert sorted(p.reason.split(" (")[0] for p in problems) == ["chain sequence", "no FUNCTION comment"]
    source = SOURCES.get("swissprot")
    options = source.options(kind="swissprot", path=str(tmp_path / "sprot.dat"),
                             tasks=["protein_description", "protein_design"])
    (subject,) = source.subjects(entries[0], options)
    (describe,), (design,) = (TASKS.get(name).records(subject) for name in options.tasks)
    assert describe.output == design.input == entries[0].function and design.output == SEQUENCE
    assert describe.modalities.protein_coords == entries[0].coords


def test_pdb_chain_reading_skips_waters(tmp_path):
    (tmp_path / "x.pdb").write_text(pdb("MKT"))
    sequence, coords = read_ca_chain(tmp_path / "x.pdb")
    assert sequence == "MKT" and len(coords) == 3


# FUNCTION comments as UniProt writes them: Q13454 (TUSC3_HUMAN, two FUNCTION comments, an evidence
# block over three lines) and CYP2D7 (inline PubMed citations, then one block with two evidences)
TUSC3 = """\
CC   -!- FUNCTION: Acts as accessory component of the N-oligosaccharyl
CC       transferase (OST) complex which catalyzes the transfer of a high
CC       mannose oligosaccharide from a lipid-linked oligosaccharide donor to an
CC       asparagine residue within an Asn-X-Ser/Thr consensus motif in nascent
CC       polypeptide chains. Involved in N-glycosylation of STT3B-dependent
CC       substrates. {ECO:0000269|PubMed:25135935, ECO:0000305|PubMed:12887896,
CC       ECO:0000305|PubMed:24685145}.
CC   -!- FUNCTION: Magnesium transporter. {ECO:0000269|PubMed:19717468}.
CC   -!- SIMILARITY: Belongs to the OST3/OST6 family. {ECO:0000305}.
"""
CYP2D7 = """\
CC   -!- FUNCTION: May be responsible for the metabolism of many drugs and
CC       environmental chemicals that it oxidizes. It may be involved in the
CC       metabolism of codeine to morphine (PubMed:15051713). However, another
CC       study could not confirm it (PubMed:18838503, PubMed:18838504).
CC       {ECO:0000269|PubMed:15051713, ECO:0000269|PubMed:18838503}.
"""


def test_function_text_is_kept_whole_without_evidence_or_citations(tmp_path):
    (tmp_path / "s.dat").write_text(entry("Q13454", SEQUENCE, None, TUSC3) + entry("P0DMN0", SEQUENCE, None, CYP2D7))
    tusc3, cyp = read_swissprot(tmp_path / "s.dat")
    assert tusc3.function == (
        "Acts as accessory component of the N-oligosaccharyl transferase (OST) complex which catalyzes the transfer "
        "of a high mannose oligosaccharide from a lipid-linked oligosaccharide donor to an asparagine residue within "
        "an Asn-X-Ser/Thr consensus motif in nascent polypeptide chains. Involved in N-glycosylation of "
        "STT3B-dependent substrates. Magnesium transporter.")
    assert cyp.function == (
        "May be responsible for the metabolism of many drugs and environmental chemicals that it oxidizes. It may be "
        "involved in the metabolism of codeine to morphine. However, another study could not confirm it.")


def test_a_malformed_entry_is_skipped_and_the_entries_after_it_are_read(tmp_path):
    good = [entry(f"P0000{i}", SEQUENCE, f"Function number {i}.") for i in range(1, 4)]
    broken = "ID   BROKEN\nAC   Q99999;\nSQ   nonsense\n//\n"
    unterminated = entry("P00009", SEQUENCE, "Never finished.").removesuffix("//\n")  # the next ID line cuts it
    with gzip.open(tmp_path / "s.dat.gz", "wt") as handle:
        handle.write(good[0] + "\n" + broken + good[1] + unterminated + good[2])
    problems = []
    entries = list(read_swissprot(tmp_path / "s.dat.gz", problems=problems))
    assert [e.accession for e in entries] == ["P00001", "P00002", "P00003"]
    assert [e.where.rsplit("[", 1)[1] for e in entries] == ["#0]", "#2]", "#4]"]
    assert [p.where.split("gz", 1)[1] for p in problems] == ["[#1] Q99999", "[#3] P00009"]
    assert "malformed Swiss-Prot entry" in problems[0].reason and "without its // line" in problems[1].reason


def test_a_missing_file_fails_when_the_reader_is_called(tmp_path):
    with pytest.raises(FileFormatError, match="no such Swiss-Prot file") as caught:
        read_swissprot(tmp_path / "absent.dat")  # not iterated: the call itself fails
    assert caught.value.path == str(tmp_path / "absent.dat")


def test_malformed_file_keeps_earlier_entries_and_a_build_uses_swissprot(tmp_path):
    good = entry("P00001", SEQUENCE, "Binds DNA and represses transcription")
    (tmp_path / "s.dat").write_text(good + "ID   BROKEN\nSQ   nonsense\n//\n")
    problems = []
    assert [e.accession for e in read_swissprot(tmp_path / "s.dat", problems=problems)] == ["P00001"]
    assert "malformed" in problems[0].reason and problems[0].where.endswith("s.dat[#1]")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "sp", "sources": [
        {"kind": "swissprot", "path": str(tmp_path / "s.dat"), "tasks": ["protein_description"]}]}))
    card = build(load_config(config), tmp_path / "out")
    assert card["tasks"] == {"protein_description": 1} and card["problems"]["0"]["reading"] == 1

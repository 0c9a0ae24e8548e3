"""Swiss-Prot flat files and PDB structures through Biopython, on small hand-written files in the real formats."""

from __future__ import annotations

import gzip
import random
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from molbridge.apps.predict import Prediction
from molbridge.apps.scoring import score_predictions
from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.parquet_io import read_shard
from molbridge.data.sources.swissprot import NOTHING, CatalyticActivity, catalytic_activities, read_swissprot
from molbridge.errors import FileFormatError
from molbridge.protein.ec import ec_numbers, read_enzyme_list
from molbridge.protein.structure import read_ca_chain
from molbridge.tasks import SOURCES, TASKS
from molbridge.tasks.phrasing import load_phrasings
from tests.conftest import records_of

SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"


def entry(accession: str, sequence: str, function: str | None, comments: str | None = None, *, dr: str = "",
          ft: str = "") -> str:
    """An entry with `function` as a one-line FUNCTION comment, or with raw `comments` (CC lines), and raw
    cross-reference (DR) and feature (FT) lines in their places."""
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
            + comment + dr + ft +
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
    assert sorted(p.reason.split(" (")[0] for p in problems) == ["chain sequence", NOTHING]
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


# --- catalytic activities, domains/motifs and GO functions ------------------------------------------------------

def protein(seed: int, length: int = 160) -> str:
    return "M" + "".join(random.Random(seed).choices("ACDEFGHIKLMNPQRSTVWY", k=length - 1))


# modelled on P14555 (PA2GA_HUMAN): two activities under one EC number, a word wrapped at its hyphen, a
# physiological direction with its own Rhea id, GO lines before InterPro and Pfam as UniProt orders them
PLA2 = """\
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=a 1,2-diacyl-sn-glycero-3-phosphocholine + H2O = a 1-acyl-sn-
CC         glycero-3-phosphocholine + a fatty acid + H(+); Xref=Rhea:RHEA:15801,
CC         ChEBI:CHEBI:15377, ChEBI:CHEBI:15378, ChEBI:CHEBI:28868,
CC         ChEBI:CHEBI:57643, ChEBI:CHEBI:58168; EC=3.1.1.4;
CC         Evidence={ECO:0000255|PROSITE-ProRule:PRU10035,
CC         ECO:0000255|PROSITE-ProRule:PRU10036};
CC       PhysiologicalDirection=left-to-right; Xref=Rhea:RHEA:15802;
CC         Evidence={ECO:0000269|PubMed:10681567};
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=a 1,2-diacyl-sn-glycero-3-phosphoethanolamine + H2O = a 1-
CC         acyl-sn-glycero-3-phosphoethanolamine + a fatty acid + H(+);
CC         Xref=Rhea:RHEA:44604, ChEBI:CHEBI:15377, ChEBI:CHEBI:15378,
CC         ChEBI:CHEBI:28868, ChEBI:CHEBI:64381, ChEBI:CHEBI:64612; EC=3.1.1.4;
CC         Evidence={ECO:0000269|PubMed:10681567};
CC   -!- SUBCELLULAR LOCATION: Secreted.
CC   -!- SIMILARITY: Belongs to the phospholipase A2 family. {ECO:0000305}.
"""
PLA2_DR = """\
DR   GO; GO:0005576; C:extracellular region; TAS:Reactome.
DR   GO; GO:0005509; F:calcium ion binding; IEA:InterPro.
DR   GO; GO:0004623; F:phospholipase A2 activity; IDA:UniProtKB.
DR   InterPro; IPR001211; PLipase_A2.
DR   Pfam; PF00068; Phospholip_A2_1; 1.
"""
PC_HYDROLYSIS = ("a 1,2-diacyl-sn-glycero-3-phosphocholine + H2O = a 1-acyl-sn-glycero-3-phosphocholine + a fatty "
                 "acid + H(+)")
PE_HYDROLYSIS = ("a 1,2-diacyl-sn-glycero-3-phosphoethanolamine + H2O = a 1-acyl-sn-glycero-3-phosphoethanolamine + "
                 "a fatty acid + H(+)")
# modelled on P12931 (SRC_HUMAN): FUNCTION, one activity whose Xref names Rhea's polymer classes (wrapped at a
# hyphen), three domains and a MobiDB-lite region, Pfam and InterPro references
SRC = """\
CC   -!- FUNCTION: Non-receptor protein tyrosine kinase which is activated
CC       following engagement of many different classes of cellular receptors.
CC       {ECO:0000269|PubMed:14585963}.
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=L-tyrosyl-[protein] + ATP = O-phospho-L-tyrosyl-[protein] +
CC         ADP + H(+); Xref=Rhea:RHEA:10596, Rhea:RHEA-COMP:10136, Rhea:RHEA-
CC         COMP:20101, ChEBI:CHEBI:15378, ChEBI:CHEBI:30616, ChEBI:CHEBI:46858,
CC         ChEBI:CHEBI:61978, ChEBI:CHEBI:456216; EC=2.7.10.2;
CC         Evidence={ECO:0000255|PROSITE-ProRule:PRU10028};
"""
SRC_DR = """\
DR   GO; GO:0005886; C:plasma membrane; IDA:UniProtKB.
DR   GO; GO:0005524; F:ATP binding; IEA:UniProtKB-KW.
DR   GO; GO:0004715; F:non-membrane spanning protein tyrosine kinase activity; IDA:UniProtKB.
DR   InterPro; IPR000980; SH2.
DR   InterPro; IPR001452; SH3_domain.
DR   Pfam; PF07714; PK_Tyr_Ser-Thr; 1.
DR   Pfam; PF00017; SH2; 1.
DR   Pfam; PF00018; SH3_1; 1.
"""
SRC_FT = """\
FT   DOMAIN          84..145
FT                   /note="SH3"
FT                   /evidence="ECO:0000255|PROSITE-ProRule:PRU00192"
FT   DOMAIN          151..248
FT                   /note="SH2"
FT                   /evidence="ECO:0000255|PROSITE-ProRule:PRU00191"
FT   DOMAIN          270..523
FT                   /note="Protein kinase"
FT                   /evidence="ECO:0000255|PROSITE-ProRule:PRU00159"
FT   REGION          1..57
FT                   /note="Disordered"
FT                   /evidence="ECO:0000256|SAM:MobiDB-lite"
"""
# modelled on P04637 (P53_HUMAN)'s motifs: a note over two FT lines and a position UniProt does not know
P53_FT = """\
FT   REGION          1..83
FT                   /note="Interaction with CCAR2"
FT   MOTIF           305..322
FT                   /note="Bipartite nuclear
FT                   localization signal"
FT   MOTIF           ?..350
FT                   /note="Nuclear export signal"
"""
# one activity with a malformed EC number (three fields), one with an incomplete one
MALFORMED = """\
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=a carboxylic ester + H2O = an alcohol + a carboxylate + H(+);
CC         Xref=Rhea:RHEA:21164, ChEBI:CHEBI:15377, ChEBI:CHEBI:15378,
CC         ChEBI:CHEBI:29067, ChEBI:CHEBI:30879, ChEBI:CHEBI:33308; EC=3.1.1;
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=an ester + H2O = an alcohol + an acid; EC=3.1.-.-;
"""
NOTHING_CC = "CC   -!- SIMILARITY: Belongs to the UPF0001 family. {ECO:0000305}.\n"
NOTHING_DR = "DR   GO; GO:0005737; C:cytoplasm; IEA:UniProtKB-SubCell.\n"
NOTHING_FT = 'FT   REGION          1..40\nFT                   /note="Disordered"\n'
SRC_SEQUENCE, PLA2_SEQUENCE, P53_SEQUENCE = protein(1, 536), protein(2, 144), protein(3, 393)


def annotated_entries() -> str:
    return (entry("P14555", PLA2_SEQUENCE, None, PLA2, dr=PLA2_DR) + entry("P12931", SRC_SEQUENCE, None, SRC,
                                                                            dr=SRC_DR, ft=SRC_FT)
            + entry("P04637", P53_SEQUENCE, None, "", ft=P53_FT) + entry("Q00001", protein(4), None, MALFORMED)
            + entry("Q00002", protein(5), None, NOTHING_CC, dr=NOTHING_DR, ft=NOTHING_FT))


def test_catalytic_activities_features_and_cross_references_are_read(tmp_path):
    (tmp_path / "s.dat").write_text(annotated_entries())
    problems = []
    pla2, src, p53, ester = read_swissprot(tmp_path / "s.dat", problems=problems)
    assert [(p.where.rsplit(" ", 1)[1], p.reason) for p in problems] == [
        ("Q00001", "malformed EC number '3.1.1' in a CATALYTIC ACTIVITY; that activity is left out"),
        ("Q00002", NOTHING)]
    assert pla2.function == "" and [(a.reaction, a.ec, a.rhea) for a in pla2.activities] == [
        (PC_HYDROLYSIS, "3.1.1.4", ("RHEA:15801",)), (PE_HYDROLYSIS, "3.1.1.4", ("RHEA:44604",))]
    assert pla2.activities[0].chebi == ("CHEBI:15377", "CHEBI:15378", "CHEBI:28868", "CHEBI:57643", "CHEBI:58168")
    assert [(t.go_id, t.name, t.namespace) for t in pla2.go_terms] == [
        ("GO:0005509", "calcium ion binding", "MF"), ("GO:0004623", "phospholipase A2 activity", "MF")]
    assert pla2.pfam == ("PF00068",) and pla2.interpro == ("IPR001211",) and pla2.features == ()
    (kinase,) = src.activities
    assert kinase.reaction == "L-tyrosyl-[protein] + ATP = O-phospho-L-tyrosyl-[protein] + ADP + H(+)"
    assert kinase.rhea == ("RHEA:10596",) and len(kinase.chebi) == 5 and kinase.ec == "2.7.10.2"
    assert [(f.kind, f.name, f.start, f.end) for f in src.features] == [
        ("DOMAIN", "SH3", 84, 145), ("DOMAIN", "SH2", 151, 248), ("DOMAIN", "Protein kinase", 270, 523),
        ("REGION", "Disordered", 1, 57)]
    assert [f.name for f in src.domains] == ["SH3", "SH2", "Protein kinase"]
    assert src.pfam == ("PF07714", "PF00017", "PF00018") and src.interpro == ("IPR000980", "IPR001452")
    assert [(f.name, f.start, f.end) for f in p53.domains] == [
        ("Bipartite nuclear localization signal", 305, 322), ("Nuclear export signal", None, 350)]
    assert [a.ec for a in ester.activities] == ["3.1.-.-"] and ester.activities[0].rhea == ()


def test_a_free_text_catalytic_activity_of_old_releases_is_a_reaction_without_ids():
    (activity,) = catalytic_activities(["CATALYTIC ACTIVITY: Choline + acceptor = betaine aldehyde + reduced "
                                        "acceptor. {ECO:0000250}.", "FUNCTION: Oxidises choline."])
    assert activity == CatalyticActivity("Choline + acceptor = betaine aldehyde + reduced acceptor.", None, (), ())


BIOPYTHON_TESTS = Path("/usr/share/doc/python-biopython-doc/Tests/SwissProt")  # Debian's, from scripts/setup.sh


def test_a_real_swissprot_entry_from_biopythons_test_files():
    path = BIOPYTHON_TESTS / "O23729.txt"  # CHS3_BROFI, chalcone synthase 3, as UniProt wrote it
    assert path.is_file(), f"{path} missing: scripts/setup.sh installs Debian's python-biopython-doc"
    (chs,) = read_swissprot(path)
    (activity,) = chs.activities
    assert activity.reaction == ("4-coumaroyl-CoA + 2 H(+) + 3 malonyl-CoA = 2',4,4',6'-tetrahydroxychalcone + "
                                 "3 CO2 + 4 CoA")
    assert activity.ec == "2.3.1.74" and activity.rhea == ("RHEA:11128",) and len(activity.chebi) == 6
    assert [t.name for t in chs.go_terms] == ["naringenin-chalcone synthase activity"]
    assert chs.pfam == ("PF02797", "PF00195") and len(chs.interpro) == 5 and chs.domains == ()


def test_tasks_skip_subjects_without_their_fact(tmp_path):
    (tmp_path / "s.dat").write_text(annotated_entries())
    pla2, src, p53, _ = read_swissprot(tmp_path / "s.dat")
    tasks = ("protein_description", "protein_design", "protein_function", "protein_catalytic_activity",
             "protein_domain")
    made = {e.accession: [r.task for r in records_of("swissprot", e, tasks, path=str(tmp_path / "s.dat"))]
            for e in (pla2, src, p53)}
    assert made == {"P14555": ["protein_function", "protein_catalytic_activity"], "P12931": list(tasks),
                    "P04637": ["protein_domain"]}
    function = records_of("swissprot", pla2, ["protein_function"], path=str(tmp_path / "s.dat"))[0]
    assert function.output == "The protein's molecular functions are: calcium ion binding; phospholipase A2 activity."
    assert function.meta.extra["go"] == ["GO:0005509", "GO:0004623"]


def test_a_build_of_catalytic_activity_and_domains_keeps_each_protein_in_one_split(tmp_path):
    fillers = "".join(entry(f"Q1{i:04d}", protein(10 + i), None, f"""\
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=ATP + H2O = ADP + phosphate + H(+); Xref=Rhea:RHEA:13065; EC=3.6.4.{i + 1};
""", ft=f'FT   DOMAIN          10..60\nFT                   /note="Helicase {i}"\n') for i in range(8))
    (tmp_path / "s.dat").write_text(annotated_entries() + fillers)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "enzymes", "sources": [
        {"kind": "swissprot", "path": str(tmp_path / "s.dat"),
         "tasks": ["protein_catalytic_activity", "protein_domain"]}]}))
    card = build(load_config(config), tmp_path / "out")
    assert card["tasks"] == {"protein_catalytic_activity": 11, "protein_domain": 10}
    assert card["problems"]["0"]["reading"] == 2  # the malformed EC number and the entry with nothing to use
    records = {split: [r for p in sorted((tmp_path / "out" / "data").glob(f"{split}-*.parquet")) for r in read_shard(p)]
               for split in ("train", "validation", "test")}
    splits_of = defaultdict(set)
    for split, found in records.items():
        for r in found:
            splits_of[r.meta.source_id].add(split)
    assert len(splits_of) == 12 and all(len(s) == 1 for s in splits_of.values())
    by_id = {r.id: r for found in records.values() for r in found}
    pla2 = by_id["swissprot:P14555:protein_catalytic_activity"]
    assert pla2.output == (f"EC 3.1.1.4. The catalysed reactions are: {PC_HYDROLYSIS} (Rhea: RHEA:15801); "
                           f"{PE_HYDROLYSIS} (Rhea: RHEA:44604).")
    assert pla2.meta.extra["ec"] == ["3.1.1.4"] and pla2.meta.extra["rhea"] == ["RHEA:15801", "RHEA:44604"]
    assert pla2.input == PLA2_SEQUENCE and pla2.instruction in load_phrasings("protein")["catalytic_activity_question"]
    src = by_id["swissprot:P12931:protein_domain"]
    assert src.output == "SH3; SH2; Protein kinase" and src.meta.extra["pfam"] == ["PF07714", "PF00017", "PF00018"]
    assert by_id["swissprot:P04637:protein_domain"].meta.extra["motifs"] == [
        "Bipartite nuclear localization signal", "Nuclear export signal"]
    assert by_id["swissprot:Q00001:protein_catalytic_activity"].output == (
        "EC 3.1.-.-. The catalysed reaction is: an ester + H2O = an alcohol + an acid.")


def prediction(record, raw: str) -> Prediction:
    kind = TASKS.get(record.task).answer
    answer = kind.extract(raw)
    return Prediction(record.id, record.task, kind.name, record.task, record.output, answer, raw, kind.valid(answer),
                      1, dict(record.meta.extra))


def test_predictions_of_both_tasks_are_scored_by_their_families(tmp_path):
    (tmp_path / "s.dat").write_text(annotated_entries())
    pla2, src, p53, _ = read_swissprot(tmp_path / "s.dat")
    tasks = ["protein_catalytic_activity", "protein_domain"]
    (src_ec, src_domains), (pla2_ec,), (p53_domains,) = (records_of("swissprot", e, tasks, path=str(tmp_path / "s.dat"))
                                                          for e in (src, pla2, p53))
    reports = score_predictions([
        prediction(src_ec, "EC 2.7.10.2. It phosphorylates tyrosines."),  # exact
        prediction(pla2_ec, "This looks like a lipase: EC 3.1.1.5."),  # right to level 3
        prediction(pla2_ec, "A phospholipase, I think."),  # no EC number: invalid, wrong
        prediction(src_domains, "sh3;  SH2."),  # precision 1, recall 2/3, F1 0.8
        prediction(p53_domains, "Answer: - Nuclear export signal\n- SH3"),  # precision, recall, F1 1/2
        prediction(p53_domains, "   "),  # no name: invalid, 0
    ])
    ec, domains = reports["protein_catalytic_activity"], reports["protein_domain"]
    assert ec.counts == {"valid": 2, "invalid": 1} and ec.n == 3
    assert ec.values() == pytest.approx({"exact_match": 1 / 3, "level_1": 2 / 3, "level_2": 2 / 3, "level_3": 2 / 3,
                                         "level_4": 1 / 3, "precision": 1 / 3, "recall": 1 / 3, "f1": 1 / 3,
                                         "validity": 2 / 3})
    assert domains.counts == {"valid": 2, "invalid": 1}
    assert domains.values() == pytest.approx({"precision": 0.5, "recall": (2 / 3 + 0.5) / 3, "f1": 1.3 / 3,
                                              "exact_match": 0.0, "validity": 2 / 3})
    assert ec.metrics["level_1"].ci_low <= ec.metrics["level_1"].value <= ec.metrics["level_1"].ci_high


# modelled on a fibrillin-like entry: repeated EGF-like domains, two with UniProt's `; calcium-binding` qualifier
# in the note, and two activities, one with an incomplete EC number
REPEATS_FT = """\
FT   DOMAIN          35..72
FT                   /note="EGF-like 1"
FT   DOMAIN          73..112
FT                   /note="EGF-like 2; calcium-binding"
FT   DOMAIN          125..162
FT                   /note="EGF-like 3; calcium-binding"
FT   DOMAIN          177..236
FT                   /note="Sushi 1"
FT   MOTIF           240..242
FT                   /note="Cell attachment site"
"""
TWO_ECS = """\
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=ATP + H2O = ADP + phosphate + H(+); Xref=Rhea:RHEA:13065; EC=3.6.4.12;
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=an ester + H2O = an alcohol + an acid; EC=3.1.-.-;
"""


def test_domain_answers_drop_uniprots_qualifiers_and_ec_answers_read_back(tmp_path):
    (tmp_path / "s.dat").write_text(entry("Q00010", protein(30, 300), None, TWO_ECS, ft=REPEATS_FT))
    (found,) = read_swissprot(tmp_path / "s.dat")
    activity, domains = records_of("swissprot", found, ["protein_catalytic_activity", "protein_domain"],
                                   path=str(tmp_path / "s.dat"))
    assert domains.output == "EGF-like 1; EGF-like 2; EGF-like 3; Sushi 1; Cell attachment site"
    assert domains.meta.extra["domains"][1] == "EGF-like 2; calcium-binding"  # the whole note kept
    assert activity.meta.extra["ec"] == ["3.6.4.12", "3.1.-.-"]
    assert ec_numbers(activity.output) == activity.meta.extra["ec"]  # the answer format reads back
    reports = score_predictions([
        prediction(domains, "Domains: EGF-like, Sushi, Cell attachment site."),  # repeat numbers do not count
        prediction(activity, "EC 3.6.4.12 and EC 3.1.-.-"),  # exact, `-` as written
    ])
    assert reports["protein_domain"].values()["exact_match"] == 1.0
    assert reports["protein_catalytic_activity"].values() == pytest.approx(
        {"exact_match": 1.0, "level_1": 1.0, "level_2": 1.0, "level_3": 1.0, "level_4": 1.0, "precision": 1.0,
         "recall": 1.0, "f1": 1.0, "validity": 1.0})


# ExPASy's enzyme.dat layout: a header block, then entries; 1.1.1.5 was transferred and 1.1.1.74 deleted
ENZYME = """\
CC   -----------------------------------------------------------------------
CC   ENZYME nomenclature database
CC   SIB Swiss Institute of Bioinformatics; Geneva, Switzerland
CC   -----------------------------------------------------------------------
//
ID   1.1.1.5
DE   Transferred entry: 1.1.1.303 and 1.1.1.304.
//
ID   1.1.1.74
DE   Deleted entry.
//
ID   2.7.10.2
DE   Non-specific protein-tyrosine kinase.
AN   Cytoplasmic protein tyrosine kinase.
CA   ATP + a [protein]-L-tyrosine = ADP + a [protein]-L-tyrosine phosphate.
//
ID   3.1.1.4
DE   Phospholipase A2.
CA   A 1,2-diacyl-sn-glycero-3-phosphocholine + H2O = a 1-acyl-sn-glycero-3-
CA   phosphocholine + a fatty acid.
DR   P14555, PA2GA_HUMAN;
//
"""
RETIRED = """\
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=(R)-2-hydroxyglutarate + NAD(+) = 2-oxoglutarate + NADH;
CC         EC=1.1.1.74;
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=an ester + H2O = an alcohol + an acid; EC=3.1.-.-;
CC   -!- CATALYTIC ACTIVITY:
CC       Reaction=an amide + H2O = a carboxylate + NH4(+); EC=3.5.-.-;
"""


def test_ec_numbers_are_checked_against_expasys_enzyme_list(tmp_path):
    (tmp_path / "enzyme.dat").write_text(ENZYME)
    enzymes = read_enzyme_list(tmp_path / "enzyme.dat")
    assert enzymes.unknown("3.1.1.4") is None and enzymes.unknown("3.1.-.-") is None
    assert enzymes.unknown("9.9.9.9") == "EC 9.9.9.9 is not in ENZYME"
    assert enzymes.unknown("3.5.-.-") == "EC 3.5.-.- is not in ENZYME"  # no current entry under it
    assert "retired in ENZYME (Transferred entry: 1.1.1.303 and 1.1.1.304)" in enzymes.unknown("1.1.1.5")
    (tmp_path / "s.dat").write_text(entry("Q00009", protein(9), "Oxidises hydroxyglutarate", RETIRED
                                          + "CC   -!- FUNCTION: Oxidises hydroxyglutarate.\n"))
    problems = []
    (found,) = read_swissprot(tmp_path / "s.dat", enzymes=enzymes, problems=problems)
    assert [a.ec for a in found.activities] == ["3.1.-.-"]
    assert [p.reason for p in problems] == [
        "EC 1.1.1.74 is retired in ENZYME (Deleted entry) in a CATALYTIC ACTIVITY; that activity is left out",
        "EC 3.5.-.- is not in ENZYME in a CATALYTIC ACTIVITY; that activity is left out"]
    assert all(p.where.endswith("Q00009") for p in problems)
    (tmp_path / "empty.dat").write_text("CC   nothing here\n//\n")
    with pytest.raises(FileFormatError, match="no ENZYME entries"):
        read_enzyme_list(tmp_path / "empty.dat")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "sp", "sources": [
        {"kind": "swissprot", "path": str(tmp_path / "s.dat"), "enzymes": str(tmp_path / "enzyme.dat"),
         "tasks": ["protein_catalytic_activity"]}]}))
    card = build(load_config(config), tmp_path / "out")
    assert card["tasks"] == {"protein_catalytic_activity": 1} and card["problems"]["0"]["reading"] == 2

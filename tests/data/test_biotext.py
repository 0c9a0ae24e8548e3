"""Biomolecular text sources (PubTator, BioC, ChemProt, question files) and the six tasks built from them.

The BC5CDR fixtures are the corpus's first training documents (PMIDs 227508 and 354896) as PubTator
writes them; the ChemProt fixture annotates the same real abstract in ChemProt's layout (its chemical
"opiate" nested in the gene "opiate receptors", as ChemProt annotates); the questions are
PubMedQA-style items (contexts abridged). Every offset is checked against the text here.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from molbridge.apps.predict import Prediction
from molbridge.apps.scoring import score_predictions
from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.formats.mol_instructions import read_mol_instructions
from molbridge.data.parquet_io import read_shard
from molbridge.data.sources.chemprot import read_chemprot
from molbridge.data.sources.pubtator import read_bioc, read_pubtator
from molbridge.data.sources.qa_files import read_qa
from molbridge.data.splits import group_key
from molbridge.errors import FileFormatError
from molbridge.tasks import SOURCES, TASKS, fed_by, task_for
from molbridge.tasks.answers import ITEMS, OPTION_LETTER, YES_NO_MAYBE, answer_kind
from molbridge.tasks.list_answers import parse_items

TITLE = "Naloxone reverses the antihypertensive effect of clonidine."
ABSTRACT = (
    "In unanesthetized, spontaneously hypertensive rats the decrease in blood pressure and heart rate produced by "
    "intravenous clonidine, 5 to 20 micrograms/kg, was inhibited or reversed by nalozone, 0.2 to 2 mg/kg. The "
    "hypotensive effect of 100 mg/kg alpha-methyldopa was also partially reversed by naloxone. Naloxone alone did not "
    "affect either blood pressure or heart rate. In brain membranes from spontaneously hypertensive rats clonidine, "
    "10(-8) to 10(-5) M, did not influence stereoselective binding of [3H]-naloxone (8 nM), and naloxone, 10(-8) to "
    "10(-4) M, did not influence clonidine-suppressible binding of [3H]-dihydroergocryptine (1 nM). These findings "
    "indicate that in spontaneously hypertensive rats the effects of central alpha-adrenoceptor stimulation involve "
    "activation of opiate receptors. As naloxone and clonidine do not appear to interact with the same receptor site, "
    "the observed functional antagonism suggests the release of an endogenous opiate by clonidine or "
    "alpha-methyldopa and the possible role of the opiate in the central control of sympathetic tone.")
TEXT = f"{TITLE} {ABSTRACT}"
MENTIONS = """227508	0	8	Naloxone	Chemical	D009270
227508	49	58	clonidine	Chemical	D003000
227508	93	105	hypertensive	Disease	D006973
227508	181	190	clonidine	Chemical	D003000
227508	244	252	nalozone	Chemical	-1
227508	274	285	hypotensive	Disease	D007022
227508	306	322	alpha-methyldopa	Chemical	D008750
227508	354	362	naloxone	Chemical	D009270
227508	364	372	Naloxone	Chemical	D009270
227508	469	481	hypertensive	Disease	D006973
227508	487	496	clonidine	Chemical	D003000
227508	563	576	[3H]-naloxone	Chemical	D009270
227508	589	597	naloxone	Chemical	D009270
227508	637	646	clonidine	Chemical	D003000
227508	671	695	[3H]-dihydroergocryptine	Chemical	-1
227508	750	762	hypertensive	Disease	D006973
227508	865	873	naloxone	Chemical	D009270
227508	878	887	clonidine	Chemical	D003000
227508	1026	1035	clonidine	Chemical	D003000
227508	1039	1055	alpha-methyldopa	Chemical	D008750"""
TITLE_2 = "Lidocaine-induced cardiac asystole."
ABSTRACT_2 = (
    "Intravenous administration of a single 50-mg bolus of lidocaine in a 67-year-old man resulted in profound "
    "depression of the activity of the sinoatrial and atrioventricular nodal pacemakers. The patient had no apparent "
    "associated conditions which might have predisposed him to the development of bradyarrhythmias; and, thus, this "
    "probably represented a true idiosyncrasy to lidocaine.")
MENTIONS_2 = """354896	0	9	Lidocaine	Chemical	D008012
354896	18	34	cardiac asystole	Disease	D006323
354896	90	99	lidocaine	Chemical	D008012
354896	331	347	bradyarrhythmias	Disease	D001919
354896	409	418	lidocaine	Chemical	D008012"""
PUBTATOR = (f"227508|t|{TITLE}\n227508|a|{ABSTRACT}\n{MENTIONS}\n227508\tCID\tD008750\tD007022\n\n"
            f"354896|t|{TITLE_2}\n354896|a|{ABSTRACT_2}\n{MENTIONS_2}\n354896\tCID\tD008012\tD006323\n")
ENTITIES = [("T1", "CHEMICAL", 0, 8, "Naloxone"), ("T2", "CHEMICAL", 49, 58, "clonidine"),
            ("T3", "GENE-N", 791, 809, "alpha-adrenoceptor"), ("T4", "GENE-N", 844, 860, "opiate receptors"),
            ("T5", "CHEMICAL", 844, 850, "opiate")]
RELATIONS = [("CPR:5", "Y", "AGONIST", "T2", "T3"), ("CPR:6", "Y", "ANTAGONIST", "T1", "T4"),
             ("CPR:10", "N", "NOT", "T1", "T3")]
QUESTIONS = [
    {"id": "21645374", "pmid": "21645374", "type": "true_false",
     "question": "Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?",
     "context": "Programmed cell death (PCD) is the regulated death of cells within an organism. The lace plant "
                "(Aponogeton madagascariensis) produces perforations in its leaves through PCD.",
     "answer": "yes"},
    {"id": "16418930", "pmid": "16418930", "question": "Landolt C and snellen e acuity: differences in strabismus "
     "amblyopia?", "context": "Assessment of visual acuity depends on the optotypes used for measurement.",
     "answer": "no"},
    {"id": "mc-naloxone", "pmid": "227508", "question": "At which receptors does naloxone act as an antagonist?",
     "options": ["Adrenergic receptors", "Opioid receptors", "Muscarinic receptors", "GABA-A receptors"],
     "answer": "B"},
    {"id": "open-clonidine", "pmid": "227508", "question": "How does clonidine lower blood pressure?",
     "answer": "It stimulates central alpha-2 adrenoceptors and so lowers sympathetic outflow."},
    {"id": "mc-aspirin", "question": "Which enzyme does aspirin inhibit irreversibly?",
     "options": {"A": "Cyclooxygenase", "B": "Lipoxygenase", "C": "Phospholipase A2", "D": "Thromboxane synthase"},
     "answer": "Cyclooxygenase"},
]


def write_chemprot(directory: Path, entities=ENTITIES, relations=RELATIONS, *, gold: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "chemprot_training_abstracts.tsv").write_text(f"227508\t{TITLE}\t{ABSTRACT}\n")
    (directory / "chemprot_training_entities.tsv").write_text(
        "".join(f"227508\t{t}\t{kind}\t{start}\t{end}\t{text}\n" for t, kind, start, end, text in entities))
    if gold:
        (directory / "chemprot_training_gold_standard.tsv").write_text(
            "".join(f"227508\t{group}\tArg1:{a}\tArg2:{b}\n" for group, flag, _, a, b in relations if flag == "Y"))
    else:
        (directory / "chemprot_training_relations.tsv").write_text(
            "".join(f"227508\t{group}\t{flag} \t{name}\tArg1:{a}\tArg2:{b}\n"
                    for group, flag, name, a, b in relations))
    return directory


def write_questions(path: Path) -> Path:
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return path


def test_the_fixtures_offsets_index_their_texts() -> None:
    for text, lines in ((TEXT, MENTIONS), (f"{TITLE_2} {ABSTRACT_2}", MENTIONS_2)):
        for line in lines.splitlines():
            _, start, end, mention, _, _ = line.split("\t")
            assert text[int(start):int(end)] == mention
    for _, _, start, end, mention in ENTITIES:
        assert TEXT[start:end] == mention


def test_pubtator_reads_the_first_bc5cdr_documents(tmp_path) -> None:
    (tmp_path / "cdr.txt").write_text(PUBTATOR)
    problems: list = []
    first, second = read_pubtator(tmp_path / "cdr.txt", problems=problems)
    assert problems == []
    assert (first.pmid, first.text, len(first.mentions)) == ("227508", TEXT, 20)
    assert first.relations == (("CID", "D008750", "D007022"),)
    assert first.mentions[0].ids() == ["D009270"] and first.mentions[4].ids() == []  # nalozone: -1, no concept
    assert first.where.endswith("cdr.txt:1 PMID 227508") and second.where.endswith("cdr.txt:25 PMID 354896")
    assert second.relations == (("CID", "D008012", "D006323"),)


def bioc(documents: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><collection><source>PubTator</source>{documents}</collection>'


def test_bioc_xml_reads_as_the_same_document(tmp_path) -> None:
    annotations = "".join(
        f'<annotation id="{i}"><infon key="type">{kind}</infon><infon key="MESH">{mesh}</infon>'
        f'<location offset="{start}" length="{int(end) - int(start)}"/><text>{mention}</text></annotation>'
        for i, (_, start, end, mention, kind, mesh) in enumerate(line.split("\t") for line in MENTIONS.splitlines()))
    document = (f"<document><id>227508</id><passage><infon key='type'>title</infon><offset>0</offset>"
                f"<text>{TITLE}</text></passage><passage><infon key='type'>abstract</infon><offset>{len(TITLE) + 1}"
                f"</offset><text>{ABSTRACT}</text>{annotations}</passage><relation id='R0'><infon key='relation'>CID"
                "</infon><infon key='Chemical'>D008750</infon><infon key='Disease'>D007022</infon></relation>"
                "</document>")
    (tmp_path / "cdr.xml").write_text(bioc(document))
    (tmp_path / "cdr.txt").write_text(PUBTATOR)
    problems: list = []
    [read] = read_bioc(tmp_path / "cdr.xml", problems=problems)
    expected = next(read_pubtator(tmp_path / "cdr.txt"))
    assert problems == []
    assert (read.pmid, read.text, read.mentions, read.relations) == (expected.pmid, TEXT, expected.mentions,
                                                                     expected.relations)
    assert read.where.endswith("cdr.xml[#0] PMID 227508")


def test_bioc_problems_and_unreadable_files(tmp_path) -> None:
    node_relation = ('<document><id>1</id><passage><offset>0</offset><text>Aspirin and gout.</text>'
                     '<annotation id="a"><infon key="type">Chemical</infon><infon key="identifier">D001241</infon>'
                     '<location offset="0" length="7"/><text>Aspirin</text></annotation>'
                     '<annotation id="b"><infon key="type">Disease</infon><infon key="MESH">D006073</infon>'
                     '<location offset="12" length="2"/><location offset="14" length="2"/><text>gout</text>'
                     '</annotation></passage><relation id="R1"><infon key="relation">CID</infon>'
                     '<node refid="a" role="Chemical"/><node refid="b" role="Disease"/></relation></document>')
    (tmp_path / "x.xml").write_text(bioc(node_relation))
    problems: list = []
    [doc] = read_bioc(tmp_path / "x.xml", problems=problems)
    assert [m.text for m in doc.mentions] == ["Aspirin"] and doc.relations == ()
    assert [p.reason for p in problems] == [
        "a mention at 2 locations (only contiguous ones are read)",
        "CID relation names b, an id no kept mention of the document has"]
    assert problems[0].where.endswith("x.xml[#0] PMID 1 annotation b")
    (tmp_path / "broken.xml").write_text("<collection><document>")
    with pytest.raises(FileFormatError, match="not XML"):
        read_bioc(tmp_path / "broken.xml")
    (tmp_path / "other.xml").write_text("<article/>")
    with pytest.raises(FileFormatError, match="root element is <article>"):
        read_bioc(tmp_path / "other.xml")
    (tmp_path / "bomb.xml").write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><collection>&a;</collection>')
    with pytest.raises(FileFormatError, match="refused XML"):
        read_bioc(tmp_path / "bomb.xml")


def test_pubtator_bad_rows_are_named_and_good_ones_kept(tmp_path) -> None:
    bad = (f"354896|t|{TITLE_2}\n354896|a|{ABSTRACT_2}\n"
           "354896\t0\t9\tLidocaine\tChemical\tD008012\n"
           "354896\t18\t34\tcardiac asystolia\tDisease\tD006323\n"  # 4: text differs from the span
           "354896\t400\t500\tlidocaine\tChemical\tD008012\n"  # 5: beyond the text
           "354896\t0\t17\tLidocaine-induced\tChemical\tD008012\n"  # 6: overlaps Lidocaine 0-9
           "354896\t90\t99\tlidocaine\tDrug\tD008012\n"  # 7: unknown type
           "354896\tonly three\tfields\n"  # 8: neither a mention nor a relation
           "354896\t331\t347\tbradyarrhythmias\tDisease\tD001919\n"
           "354896\tCID\tD008012\tD006323\n"  # 10: D006323 was only on the refused mention
           "354896\tCID\tD008012\tD001919\n"
           "999\t0\t9\tLidocaine\tChemical\tD008012\n\n"  # 12: another PMID inside the document
           "354897\t0\t9\tLidocaine\tChemical\tD008012\n")  # 14: a document without a title
    (tmp_path / "bad.txt").write_text(bad)
    problems: list = []
    [doc] = read_pubtator(tmp_path / "bad.txt", problems=problems)
    assert [(m.start, m.text) for m in doc.mentions] == [(0, "Lidocaine"), (331, "bradyarrhythmias")]
    assert doc.relations == (("CID", "D008012", "D001919"),)
    found = {p.where.split("bad.txt:")[1].split()[0]: p.reason for p in problems}
    assert set(found) == {"4", "5", "6", "7", "8", "10", "12", "14"}
    assert "differs from the text" in found["4"] and "outside the text" in found["5"]
    assert "overlaps 'Lidocaine' at 0-9; the later one is dropped" in found["6"]
    assert "unknown entity type 'Drug'" in found["7"] and "neither a mention" in found["8"]
    assert "names D006323" in found["10"] and "differs from the document's" in found["12"]
    assert "without a 'PMID|t|title' line" in found["14"]
    (tmp_path / "plain.txt").write_text("just some text\n")
    with pytest.raises(FileFormatError, match="not a PubTator file"):
        read_pubtator(tmp_path / "plain.txt")


def test_chemprot_keeps_evaluated_groups_and_nested_chemicals(tmp_path) -> None:
    problems: list = []
    counts: Counter = Counter()
    [doc] = read_chemprot(write_chemprot(tmp_path / "cp"), problems=problems, counts=counts)
    assert problems == [] and doc.text == TEXT and doc.pmid == "227508"
    assert [(m.identifier, m.text) for m in doc.mentions] == [
        ("T1", "Naloxone"), ("T2", "clonidine"), ("T3", "alpha-adrenoceptor"), ("T4", "opiate receptors"),
        ("T5", "opiate")]
    assert all(doc.text[m.start:m.end] == m.text for m in doc.mentions)
    assert doc.relations == (("CPR:5", "T2", "T3"), ("CPR:6", "T1", "T4"))
    assert counts == {"relations of groups not evaluated (CPR:10)": 1}
    [gold] = read_chemprot(write_chemprot(tmp_path / "gs", gold=True))
    assert gold.relations == doc.relations


def test_chemprot_bad_rows_and_missing_files(tmp_path) -> None:
    entities = [*ENTITIES, ("T6", "CHEMICAL", 49, 60, "clonidine,"),  # text differs from the span
                ("T7", "CHEMICAL", 1200, 1209, "clonidine"), ("T8", "PROTEIN", 791, 809, "alpha-adrenoceptor"),
                ("T9", "CHEMICAL", 0, 4, "Nalo")]  # overlaps Naloxone (a chemical too)
    relations = [*RELATIONS, ("CPR:4", "Y", "INHIBITOR", "T1", "T99"), ("CPR:3", "Y", "ACTIVATOR", "T3", "T2")]
    directory = write_chemprot(tmp_path / "cp", entities, relations)
    with (directory / "chemprot_training_entities.tsv").open("a") as handle:
        handle.write("123\tT1\tCHEMICAL\t0\t3\tabc\n227508\tT10\tCHEMICAL\tzero\t3\tabc\n")
    problems: list = []
    [doc] = read_chemprot(directory, problems=problems)
    assert doc.relations == (("CPR:5", "T2", "T3"), ("CPR:6", "T1", "T4"))
    reasons = [p.reason for p in problems]
    assert any("'clonidine,' differs from the text at 49-60: 'clonidine. '" in r for r in reasons)
    assert any("span 1200-1209 is outside the text" in r for r in reasons)
    assert any("unknown entity type 'PROTEIN'" in r for r in reasons)
    assert any("'Nalo' at 0-4 overlaps 'Naloxone'" in r for r in reasons)
    assert "no abstract with this PMID" in reasons and "expected PMID, entity number, type, start, end, text" in reasons
    assert "CPR:4 relation: names T99, not a kept entity of the document" in reasons
    assert "CPR:3 relation: T3 is a GENE-N mention, where a CHEMICAL one belongs" in reasons
    assert all(":" in p.where and "chemprot_training_" in p.where for p in problems)
    (directory / "chemprot_training_relations.tsv").unlink()
    with pytest.raises(FileFormatError, match="no \\*relations\\*.tsv or \\*gold_standard\\*.tsv file"):
        read_chemprot(directory)


def test_question_files_in_json_lines_csv_and_pubmedqa_layouts(tmp_path) -> None:
    problems: list = []
    items = list(read_qa(write_questions(tmp_path / "qa.jsonl"), problems=problems))
    assert problems == []
    assert [(i.id, i.type, i.answer) for i in items] == [
        ("21645374", "true_false", "yes"), ("16418930", "true_false", "no"), ("mc-naloxone", "multiple_choice", "B"),
        ("open-clonidine", "open", QUESTIONS[3]["answer"]), ("mc-aspirin", "multiple_choice", "A")]
    assert items[4].options[0] == "Cyclooxygenase" and items[0].context.startswith("Programmed cell death")
    (tmp_path / "qa.csv").write_text("question,A,B,C,answer\nWhich is a loop diuretic?,Furosemide,Spironolactone,"
                                     "Amiloride,(a)\nIs the sky green?,,,,False\n")
    csv_items = list(read_qa(tmp_path / "qa.csv"))
    assert [(i.id, i.type, i.answer, i.options) for i in csv_items] == [
        ("qa-1", "multiple_choice", "A", ("Furosemide", "Spironolactone", "Amiloride")),
        ("qa-2", "true_false", "no", ())]
    assert csv_items[0].where.endswith("qa.csv:2 id qa-1")
    pubmedqa = {"21645374": {"QUESTION": QUESTIONS[0]["question"], "CONTEXTS": ["Programmed cell death.", "PCD."],
                             "final_decision": "yes", "LONG_ANSWER": "Mitochondria play a role."}}
    (tmp_path / "ori_pqal.json").write_text(json.dumps(pubmedqa))
    [item] = read_qa(tmp_path / "ori_pqal.json")
    assert (item.id, item.pmid, item.type, item.answer, item.context) == (
        "21645374", "21645374", "true_false", "yes", "Programmed cell death. PCD.")


def test_question_rows_that_cannot_be_used_are_named(tmp_path) -> None:
    rows = ['{"question": "Q1?"}', '{"answer": "yes"}', '{"question": "Q3?", "options": ["x", "y"], "answer": "z"}',
            '{"question": "Q4?", "answer": "yes", "type": "essay"}',
            '{"question": "Q5?", "answer": "perhaps", "type": "true_false"}', 'not json', '["a list"]',
            '{"question": "Q8?", "options": ["only one"], "answer": "A"}', '{"question": "Q9?", "answer": "Maybe."}']
    (tmp_path / "bad.jsonl").write_text("\n".join(rows) + "\n")
    problems: list = []
    [kept] = read_qa(tmp_path / "bad.jsonl", problems=problems)
    assert (kept.id, kept.answer) == ("bad-9", "maybe")
    assert [(p.where.rsplit(":", 1)[1], p.reason) for p in problems] == [
        ("1", "id bad-1: missing answer"), ("2", "id bad-2: missing question"),
        ("3", "id bad-3: answer 'z' is not among the options (A–B)"),
        ("4", "id bad-4: unknown type 'essay' (known: multiple_choice, true_false, open)"),
        ("5", "id bad-5: a true/false answer must be yes, no, maybe, true or false, not 'perhaps'"),
        ("6", "not JSON: Expecting value"), ("7", "expected an object, got list"),
        ("8", "id bad-8: a multiple-choice question needs 2 to 5 options, not 1")]
    (tmp_path / "table.csv").write_text("query,answer\nx,y\n")
    with pytest.raises(FileFormatError, match="no 'question' column"):
        read_qa(tmp_path / "table.csv")
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        read_qa(tmp_path / "broken.json")


def subject_records(kind: str, item, task: str) -> list:
    source = SOURCES.get(kind)
    options = source.options.model_validate({"kind": kind, "tasks": [task], "path": "."})
    return [r for s in source.subjects(item, options) for r in TASKS.get(task).records(s)]


def test_extraction_tasks_write_items_in_one_line_formats(tmp_path) -> None:
    (tmp_path / "cdr.txt").write_text(PUBTATOR)
    doc = next(read_pubtator(tmp_path / "cdr.txt"))
    [ner] = subject_records("pubtator", doc, "chemical_mentions")
    assert ner.input == TEXT and ner.id == "pubtator:227508:chemical_mentions"
    assert ner.output == ("Naloxone; clonidine; nalozone; alpha-methyldopa; naloxone; [3H]-naloxone; "
                          "[3H]-dihydroergocryptine")
    assert ner.instruction.endswith("in order of first appearance, separated by '; ' (or 'none').")
    assert ner.meta.source_id == "227508" and ner.meta.extra["entities"][0] == [0, 8, "Naloxone", "Chemical"]
    assert parse_items(ner.output) == {tuple(item) for item in ner.meta.extra["items"]}
    [cdr] = subject_records("pubtator", doc, "chemical_disease_relation")
    assert cdr.output == "alpha-methyldopa | hypotensive"  # D008750's and D007022's first mentions
    assert cdr.meta.extra["relations"] == [["D008750", "D007022"]]
    [cpr] = subject_records("chemprot", next(read_chemprot(write_chemprot(tmp_path / "cp"))),
                            "chemical_protein_relation")
    assert cpr.output == "clonidine | CPR:5 | alpha-adrenoceptor; Naloxone | CPR:6 | opiate receptors"
    assert "CPR:9 (substrate or product of)" in cpr.instruction
    [empty] = subject_records("chemprot", next(read_chemprot(write_chemprot(tmp_path / "none", relations=[]))),
                              "chemical_protein_relation")
    assert empty.output == "none" and empty.meta.extra["items"] == []


def test_question_tasks_write_one_record_per_question_of_their_type(tmp_path) -> None:
    items = list(read_qa(write_questions(tmp_path / "qa.jsonl")))
    [mc] = subject_records("qa", items[2], "multiple_choice")
    assert mc.output == "B" and mc.meta.source_id == "227508" and mc.meta.extra["qa_id"] == "mc-naloxone"
    assert mc.input.endswith("Options:\nA. Adrenergic receptors\nB. Opioid receptors\nC. Muscarinic receptors\n"
                             "D. GABA-A receptors")
    assert subject_records("qa", items[2], "true_false") == []
    [tf] = subject_records("qa", items[0], "true_false")
    assert tf.output == "yes" and tf.input.startswith("Context: Programmed cell death")
    [open_] = subject_records("qa", items[3], "open_qa")
    assert open_.output.startswith("It stimulates central alpha-2") and "Question: How does" in open_.input
    assert mc.id == f"qa:{items[2].file}:mc-naloxone:multiple_choice" and len(items[2].file) == 8


def test_questions_are_deduplicated_and_split_by_content_not_row_id(tmp_path) -> None:
    question = {"question": "Does clonidine lower blood pressure?", "context": "Clonidine is an alpha-2 agonist.",
                "answer": "yes"}
    same = {"id": "other-id", "question": "Does  clonidine lower BLOOD pressure?",
            "context": "Clonidine is an alpha-2 agonist. ", "answer": "yes"}
    other = {"question": "Does naloxone lower blood pressure?", "answer": "no"}
    for name in ("one", "two"):  # two files, same stem, same default ids (questions-1, ...), different questions
        (tmp_path / name).mkdir()
    (tmp_path / "one" / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in (question, same)))
    (tmp_path / "two" / "questions.jsonl").write_text(json.dumps(other) + "\n")
    first, second = read_qa(tmp_path / "one" / "questions.jsonl")
    assert first.content_key() == second.content_key() and first.document() == f"question:{first.content_key()}"
    [a], [b] = (subject_records("qa", item, "true_false") for item in (first, second))
    assert a.id != b.id and a.meta.extra["question_hash"] == b.meta.extra["question_hash"]
    assert group_key(a, "random") == group_key(b, "random") == f"document:question:{first.content_key()}"
    with_pmid = read_qa(write_questions(tmp_path / "qa.jsonl"))
    assert {group_key(r, "random") for item in with_pmid for task in ("multiple_choice", "true_false", "open_qa")
            for r in subject_records("qa", item, task) if item.pmid == "227508"} == {"document:pmid:227508"}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "qa", "sources": [
        {"kind": "qa", "path": str(tmp_path / "one" / "questions.jsonl"), "tasks": ["true_false"]},
        {"kind": "qa", "path": str(tmp_path / "two" / "questions.jsonl"), "tasks": ["true_false"]}],
        "split": {"method": "random", "fractions": [0.5, 0.25, 0.25], "seed": 1}}))
    card = build(load_config(config), tmp_path / "out")
    assert card["tasks"] == {"true_false": 2} and card["qc"]["dropped"] == {"duplicate": 1}
    records = [r for path in sorted((tmp_path / "out" / "data").glob("*.parquet")) for r in read_shard(path)]
    assert sorted(r.meta.extra["qa_id"] for r in records) == ["questions-1", "questions-1"]
    assert len({r.id for r in records}) == 2  # same stem, same row id, two files: two record ids


@pytest.mark.parametrize("reply,answer", [
    ("B", "B"), ("(C) Muscarinic receptors", "C"), ("D. GABA-A", "D"), ("The answer is (A).", "A"),
    ("**B**", "B"), ("Answer: **B**", "B"), ("b", "B"), ("The answer is (d)", "D"),
    ("D, because naloxone blocks opioid receptors.", "D"), ("I would choose B.", "B"), ("Option C is correct", "C"),
    ("A beta-blocker would not help", ""), ("a beta-blocker", ""), ("Yes", ""), ("unsure", ""), ("", ""),
    ("Answer:\n\nB", "B"), ("Question: which receptor?\nAnswer: B", "B"), ("B is the correct answer.", "B"),
    ("B - Opioid receptors", "B"), ("My answer would be C.", "C"), ("B. Actually, the answer is C.", "C"),
])
def test_option_letters_are_read_from_the_reply(reply, answer) -> None:
    assert answer_kind("option_letter").extract(reply) == answer
    assert OPTION_LETTER.valid(answer) == bool(answer)


@pytest.mark.parametrize("reply,answer", [
    ("Yes.", "yes"), ("A beta-blocker would not help; no.", "no"), ("Maybe, the evidence is mixed", "maybe"),
    ("True", "yes"), ("false", "no"), ("**No**, it does not.", "no"), ("Answer: yes", "yes"),
    ("Yes, although maybe not in every patient", "yes"),
    ("E. coli is not a virus", ""), ("B", ""), ("(A)", ""), ("unsure", ""),
    ("Based on the study, the answer is yes. However, no causal link was shown.", "yes"), ("Answer:\nNo", "no"),
])
def test_yes_no_maybe_answers_never_read_letters(reply, answer) -> None:
    assert answer_kind("yes_no_maybe").extract(reply) == answer
    assert YES_NO_MAYBE.valid(answer) == bool(answer)
    assert not YES_NO_MAYBE.valid("B") and not OPTION_LETTER.valid("yes") and not OPTION_LETTER.valid("F")


@pytest.mark.parametrize("reply,answer", [
    ("Answer: Naloxone;  clonidine\nmore text", "Naloxone; clonidine"), ("", ""),
    ("Here are the chemicals:\nNaloxone; clonidine", "Naloxone; clonidine"),
    ("Chemicals: Naloxone; clonidine", "Naloxone; clonidine"),
    ("Chemical entities: **Naloxone**; clonidine", "Naloxone; clonidine"),
    ("1. Naloxone\n2. clonidine", "Naloxone; clonidine"),
    ("- Naloxone\n- clonidine.\n\nThese are all the chemicals.", "Naloxone; clonidine"),
    ("The chemicals are:\n* Naloxone\n* [3H]-naloxone", "Naloxone; [3H]-naloxone"),
    ("clonidine | CPR:5 | alpha-adrenoceptor", "clonidine | CPR:5 | alpha-adrenoceptor"),
    ("Relations: clonidine | CPR:5 | alpha-adrenoceptor", "clonidine | CPR:5 | alpha-adrenoceptor"),
    ("Here are the relations:\n1. clonidine | CPR:5 | alpha-adrenoceptor\n2) Naloxone | CPR:6 | opiate receptors",
     "clonidine | CPR:5 | alpha-adrenoceptor; Naloxone | CPR:6 | opiate receptors"),
    ("None.", "None."), ("**Chemicals:**\n- Naloxone\n- clonidine", "Naloxone; clonidine"),
    ("**Chemicals:** Naloxone; clonidine", "Naloxone; clonidine"),
])
def test_item_answers_are_read_from_preambles_labels_and_lists(reply, answer) -> None:
    assert answer_kind("items").extract(reply) == answer


def test_item_lists_survive_decoding_and_parse_as_items() -> None:
    assert not ITEMS.one_line and ITEMS.max_new_tokens == 256  # a list spans lines: decoding must not stop at one
    for none in ("None.", "NONE", " none ", "", "None"):
        assert parse_items(none) == frozenset()
    assert parse_items("Naloxone; clonidine.") == {("Naloxone",), ("clonidine",)}
    assert parse_items("U.S.P. saline; 5-HT.") == {("U.S.P. saline",), ("5-HT",)}  # periods inside names stay
    assert parse_items("clonidine | CPR:5 | alpha-adrenoceptor.") == {("clonidine", "CPR:5", "alpha-adrenoceptor")}
    assert parse_items(ITEMS.extract("1. Naloxone.\n2. clonidine.")) == {("Naloxone",), ("clonidine",)}


MOL_INSTRUCTIONS_TEXT_TASKS = ("chemical_entity_recognition", "chemical_disease_interaction_extraction",
                               "chemical_protein_interaction_extraction", "multiple_choice_question",
                               "true_or_false_question", "open_question")


def test_imported_mol_instructions_text_records_keep_the_generic_task(tmp_path) -> None:
    items = [{"instruction": "Answer this multiple-choice question.", "input": "Question: Which receptor ...?\n"
              "Option A: Adrenergic\nOption B: Opioid", "output": "The answer is Option B: Opioid.",
              "metadata": {"task": "multiple_choice_question", "split": "train"}},
             {"instruction": "Find the chemicals.", "input": TITLE, "output": "Naloxone, clonidine",
              "metadata": {"task": "chemical_entity_recognition", "split": "test"}}]
    (tmp_path / "mc.json").write_text(json.dumps(items))
    imported = read_mol_instructions(tmp_path / "mc.json")
    assert [r.task for r in imported.records] == ["multiple_choice_question", "chemical_entity_recognition"]
    for record in imported.records:  # their own answer formats: not our option letters or ';'-joined items
        task = task_for(record.task, [record.output])
        assert task.build is None and task.answer.name == "text", record.task
    for name in MOL_INSTRUCTIONS_TEXT_TASKS:
        assert name not in TASKS and task_for(name).build is None


def test_a_relation_names_an_id_by_a_mention_of_it_alone(tmp_path) -> None:
    text = ("Cisplatin caused nausea and vomiting in rats. Nausea was severe and vomiting lasted days. "
            "Ondansetron reduced nausea and vomiting.")

    def at(mention: str, start: int = 0) -> tuple[int, int]:
        begin = text.index(mention, start)
        return begin, begin + len(mention)

    composite = at("nausea and vomiting")
    mentions = [(*at("Cisplatin"), "Cisplatin", "Chemical", "D002945"),
                (*composite, "nausea and vomiting", "Disease", "D009325|D014839"),
                (*at("Nausea"), "Nausea", "Disease", "D009325"), (*at("vomiting", 60), "vomiting", "Disease", "D014839"),
                (*at("Ondansetron"), "Ondansetron", "Chemical", "D017294")]
    relations = [("D002945", "D009325"), ("D002945", "D014839")]
    pubtator = (f"1|t|{text[:45]}\n1|a|{text[46:]}\n" + "".join(f"1\t{a}\t{b}\t{m}\t{kind}\t{ids}\n"
                                                               for a, b, m, kind, ids in mentions)
                + "".join(f"1\tCID\t{c}\t{d}\n" for c, d in relations))
    (tmp_path / "c.txt").write_text(pubtator)
    problems: list = []
    doc = next(read_pubtator(tmp_path / "c.txt", problems=problems))
    assert problems == [] and doc.text == text
    [cdr] = subject_records("pubtator", doc, "chemical_disease_relation")
    assert cdr.output == "Cisplatin | Nausea; Cisplatin | vomiting"  # two pairs, not the composite twice
    # only a composite mention names the ids: it names both (the pairs then read as one item)
    only = pubtator.replace("1\t46\t52\tNausea\tDisease\tD009325\n", "").replace(
        f"1\t{at('vomiting', 60)[0]}\t{at('vomiting', 60)[1]}\tvomiting\tDisease\tD014839\n", "")
    (tmp_path / "only.txt").write_text(only)
    [cdr] = subject_records("pubtator", next(read_pubtator(tmp_path / "only.txt")), "chemical_disease_relation")
    assert cdr.output == "Cisplatin | nausea and vomiting"


def test_chemprot_keeps_a_titles_edge_spaces_so_offsets_hold(tmp_path) -> None:
    directory = write_chemprot(tmp_path / "cp", [(t, kind, start + 1, end + 1, text)
                                                for t, kind, start, end, text in ENTITIES])
    (directory / "chemprot_training_abstracts.tsv").write_text(f"227508 \t {TITLE}\t{ABSTRACT}\r\n")
    problems: list = []
    [doc] = read_chemprot(directory, problems=problems)
    assert problems == [] and doc.pmid == "227508" and doc.text == f" {TEXT}"
    assert [m.text for m in doc.mentions][:2] == ["Naloxone", "clonidine"]
    assert doc.relations == (("CPR:5", "T2", "T3"), ("CPR:6", "T1", "T4"))


def test_a_build_writes_all_six_tasks_and_keeps_each_document_in_one_split(tmp_path) -> None:
    (tmp_path / "cdr.txt").write_text(PUBTATOR + "\n354897|t|A title only.\n354897\t0\t1\tA\tDrug\tX\n")
    extra = [{"id": f"tf-{n}", "pmid": str(1000 + n % 4), "question": f"Is claim {n} supported?",
              "answer": ["yes", "no", "maybe"][n % 3]} for n in range(12)]
    questions = write_questions(tmp_path / "qa.jsonl")
    with questions.open("a") as handle:
        handle.write("".join(json.dumps(q) + "\n" for q in extra) + '{"question": "no answer?"}\n')
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "biotext", "chunk_size": 3, "sources": [
        {"kind": "pubtator", "path": str(tmp_path / "cdr.txt"),
         "tasks": ["chemical_mentions", "chemical_disease_relation"]},
        {"kind": "chemprot", "path": str(write_chemprot(tmp_path / "cp")), "tasks": ["chemical_protein_relation"]},
        {"kind": "qa", "path": str(questions), "license": "MIT (PubMedQA)",
         "tasks": ["multiple_choice", "true_false", "open_qa"]}],
        "split": {"method": "random", "fractions": [0.4, 0.3, 0.3], "seed": 3}}))
    card = build(load_config(config), tmp_path / "out")
    assert card["tasks"] == {"chemical_mentions": 3, "chemical_disease_relation": 3,
                             "chemical_protein_relation": 1, "multiple_choice": 2,
                             "true_false": 14, "open_qa": 1}
    assert card["problems"]["0"]["reading"] == 1 and card["problems"]["2"]["reading"] == 1
    records = [r for path in sorted((tmp_path / "out" / "data").glob("*.parquet")) for r in read_shard(path)]
    splits = defaultdict(set)
    for record in records:
        splits[(record.meta.source, record.meta.source_id)].add(record.meta.split)
    assert all(len(found) == 1 for found in splits.values())
    assert len({split for found in splits.values() for split in found}) == 3
    assert {r.meta.license for r in records if r.meta.source == "qa"} == {"MIT (PubMedQA)"}
    assert sum(r.meta.source_id == "1000" for r in records) == 3  # three questions on one abstract, none deduplicated
    gold_answers = [Prediction(r.id, r.task, TASKS.get(r.task).answer.name, r.task, r.output, r.output, r.output,
                               True, 1, r.meta.extra) for r in records]
    reports = score_predictions(gold_answers)
    assert reports["chemical_protein_relation"].values()["f1"] == 1.0
    assert reports["true_false"].values()["accuracy"] == 1.0


def test_each_source_feeds_its_tasks_only() -> None:
    assert [t.name for t in fed_by(SOURCES.get("pubtator"))] == ["chemical_mentions",
                                                                 "chemical_disease_relation"]
    assert [t.name for t in fed_by(SOURCES.get("chemprot"))] == ["chemical_protein_relation"]
    assert [t.name for t in fed_by(SOURCES.get("qa"))] == ["multiple_choice", "true_false",
                                                           "open_qa"]


def test_a_ragged_question_table_row_is_named_and_the_others_kept(tmp_path) -> None:
    (tmp_path / "q.csv").write_text('id,question,answer\nq1,"Is naloxone an opioid antagonist?",yes\n'
                                    'q2,"Does clonidine act centrally?",yes,extra\n')
    problems: list = []
    items = list(read_qa(tmp_path / "q.csv", problems=problems))
    assert [item.id for item in items] == ["q1"]
    assert problems[0].where == f"{tmp_path / 'q.csv'}:3" and "ragged row" in problems[0].reason

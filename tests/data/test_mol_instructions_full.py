"""configs/mol-instructions-full.yaml end to end: all 17 Mol-Instructions task types from their source formats.

The source files are small real-format files the tests write (a few ChEBI molecules, USPTO reactions,
Swiss-Prot entries, a BC5CDR abstract in PubTator and ChemProt layouts, PubMedQA-style questions);
QM9 is the packaged one. The committed config is read as a user would, with its paths under
$MOL_INSTRUCTIONS_DATA.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from molbridge.apps.copy_baseline import copy_answers
from molbridge.apps.predict import Prediction
from molbridge.apps.scoring import score_predictions, score_reply_file
from molbridge.cli.main import app
from molbridge.data.build.config import ConfigError, load_config
from molbridge.data.build.pipeline import build
from molbridge.data.parquet_io import read_split
from molbridge.data.splits import group_key
from molbridge.records import Record
from molbridge.tasks import task_for
from tests.data.test_biotext import PUBTATOR, write_chemprot, write_questions
from tests.data.test_reactions import AMIDE, BOC, REDUCTIVE_AMINATION, SAPONIFICATION, SUZUKI, WILLIAMSON
from tests.data.test_swissprot import annotated_entries

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "mol-instructions-full.yaml"
# Mol-Instructions' 17 task types → the molbridge task that builds each
TYPES = {
    "description-guided molecule design": "molecule_design",
    "molecular description generation": "molecule_description",
    "property prediction": "property_prediction",
    "forward reaction prediction": "forward_reaction_prediction",
    "retrosynthesis": "retrosynthesis",
    "reagent prediction": "reagent_prediction",
    "protein design": "protein_design",
    "catalytic activity prediction": "protein_catalytic_activity",
    "protein function prediction": "protein_function",
    "functional description generation": "protein_description",
    "domain/motif prediction": "protein_domain",
    "chemical entity recognition": "chemical_mentions",
    "chemical-disease interaction extraction": "chemical_disease_relation",
    "chemical-protein interaction extraction": "chemical_protein_relation",
    "multiple-choice question": "multiple_choice",
    "true or false question": "true_false",
    "open question": "open_qa",
}
CHEBI = [  # CID, SMILES, a ChEBI-style caption (ChEBI's definitions of these molecules, shortened)
    ("2244", "CC(=O)Oc1ccccc1C(=O)O", "The molecule is a member of the class of benzoic acids that is salicylic acid in "
     "which the hydrogen of the phenolic hydroxy group is replaced by an acetoxy group."),
    ("2519", "Cn1c(=O)c2c(ncn2C)n(C)c1=O", "The molecule is a trimethylxanthine in which the three methyl groups "
     "are located at positions 1, 3, and 7. It is an alkaloid found in coffee and tea."),
    ("702", "CCO", "The molecule is a primary alcohol that is ethane in which one of the hydrogens is substituted by "
     "a hydroxy group. It has a role as a solvent."),
    ("243", "O=C(O)c1ccccc1", "The molecule is a compound comprising a benzene ring core carrying a carboxylic acid "
     "substituent. It is a conjugate acid of a benzoate."),
    ("1983", "CC(=O)Nc1ccc(O)cc1", "The molecule is a member of the class of phenols that is 4-aminophenol in which "
     "one of the hydrogens attached to the amino group has been replaced by an acetyl group."),
    ("3672", "CC(C)Cc1ccc(C(C)C(=O)O)cc1", "The molecule is a monocarboxylic acid that is propionic acid in which "
     "one of the hydrogens at position 2 is substituted by a 4-(2-methylpropyl)phenyl group."),
]
# the family's headline metric and its value for answers equal to the references
PERFECT = {"text": ("rougeL", 1.0), "molecule": ("exact_match", 1.0), "number": ("mae", 0.0),
           "classification": ("accuracy", 1.0), "choice": ("accuracy", 1.0), "sequence": ("exact_match", 1.0),
           "ec": ("exact_match", 1.0), "set": ("exact_match", 1.0), "extraction": ("f1", 1.0)}


def write_sources(root: Path) -> None:
    (root / "chebi20").mkdir(parents=True)
    (root / "chebi20" / "train.txt").write_text("CID\tSMILES\tdescription\n" + "".join(
        f"{cid}\t{smiles}\t{caption}\n" for cid, smiles, caption in CHEBI))
    (root / "uspto").mkdir()
    reactions = [AMIDE, BOC, SUZUKI, SAPONIFICATION, REDUCTIVE_AMINATION, WILLIAMSON]
    (root / "uspto" / "reactions.csv").write_text("id,class,reactants>reagents>production\n" + "".join(
        f"US{i:08d},{i % 10},{r}\n" for i, r in enumerate(reactions)))
    (root / "uniprot_sprot.dat.gz").write_bytes(gzip.compress(annotated_entries().encode()))
    (root / "bc5cdr").mkdir()
    (root / "bc5cdr" / "CDR_TrainingSet.PubTator.txt").write_text(PUBTATOR)
    write_chemprot(root / "chemprot" / "chemprot_training")
    write_questions(root / "questions.jsonl")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mol-instructions")
    write_sources(root / "files")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOL_INSTRUCTIONS_DATA", str(root / "files"))
        config = load_config(CONFIG, ["sources.1.limit=40"])
    build(config, root / "out")
    return root / "out"


@pytest.fixture(scope="module")
def built(dataset) -> tuple[dict, list[Record]]:
    card = json.loads((dataset / "card.json").read_text())
    return card, [r for split in ("train", "validation", "test") for r in read_split(dataset, split)]


def test_the_full_config_builds_all_17_task_types(built):
    card, records = built
    assert len(TYPES) == 17 and set(TYPES.values()) <= set(card["tasks"]), set(TYPES.values()) - set(card["tasks"])
    assert all(card["tasks"][task] >= 1 for task in TYPES.values())
    assert {r.meta.split for r in records} <= {"train", "validation", "test"} and all(r.meta.license for r in records)
    abstract = [r for r in records if r.meta.extra.get("pmid") == "227508"]  # in PubTator, ChemProt and questions
    assert {r.meta.source for r in abstract} == {"pubtator", "chemprot", "qa"}
    assert {group_key(r, "scaffold") for r in abstract} == {"document:pmid:227508"}
    assert len({r.meta.split for r in abstract}) == 1  # one abstract, three sources, one side


def test_every_task_kind_is_scored_through_the_registry(built):
    _, records = built
    rows = []
    for record in records:
        task = task_for(record.task)
        reference = task.target.get(record)
        rows.append(Prediction(record.id, task.name, task.answer.name, task.group(record), reference, reference,
                               reference, task.answer.valid(task.answer.extract(reference)), meta=record.meta.extra))
    reports = score_predictions(rows)
    assert {task_for(r.task).name for r in rows} >= set(TYPES.values())
    for group, report in reports.items():
        metric, perfect = PERFECT[task_for(group.split(":")[0]).family]
        assert report.metrics[metric].value == pytest.approx(perfect), (group, metric, report.metrics[metric])


def test_the_copy_baseline_answers_every_test_record(built):
    _, records = built
    train = [r for r in records if r.meta.split == "train"]
    held_out = [r for r in records if r.meta.split != "train"]
    copied = copy_answers(train, held_out)
    assert set(copied) == {r.id for r in held_out}


def test_a_missing_file_stops_the_build_before_any_work(tmp_path, monkeypatch):
    write_sources(tmp_path / "files")
    (tmp_path / "files" / "questions.jsonl").unlink()
    monkeypatch.setenv("MOL_INSTRUCTIONS_DATA", str(tmp_path / "files"))
    with pytest.raises(ConfigError, match=r"sources\.6\.path: .*questions\.jsonl does not exist"):
        load_config(CONFIG)
    monkeypatch.delenv("MOL_INSTRUCTIONS_DATA")
    with pytest.raises(ConfigError, match=r"sources\.0\.path: \$\{MOL_INSTRUCTIONS_DATA\}/chebi20/train.txt"):
        load_config(CONFIG)


def test_another_models_replies_are_scored_per_task_from_the_command_line(dataset, built, tmp_path):
    _, records = built
    train = [r for r in records if r.meta.split == "train"]
    chosen = {}
    for record in train:  # one record of each task type
        chosen.setdefault(record.task, record)
    replies = [{"id": r.id, "prediction": f"Answer: {task_for(r.task).target.get(r)}"} for r in chosen.values()]
    replies[0] = {"id": replies[0]["id"], "prediction": None}  # unreadable: scored invalid
    replies.append({"id": "no-such-record", "prediction": "CCO"})
    file = tmp_path / "replies.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in replies))
    result = CliRunner().invoke(app, ["eval", "answers", str(dataset), str(file), "--split", "train", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    groups = out["groups"]
    assert set(TYPES.values()) <= {g.split(":")[0] for g in groups}
    assert sum(g["n"] for g in groups.values()) == len(train)  # every record scored, replied to or not
    first = groups[task_for(train[0].task).group(train[0])]
    assert first["counts"].get("valid", first["counts"].get("valid_outputs", 0)) < first["n"]
    extraction = groups["chemical_protein_relation"]
    assert extraction["f1"] == 1.0  # "Answer: ..." read by the answer kind
    assert any("no-such-record" in issue for issue in out["issues"])
    assert any("have no reply" in issue for issue in out["issues"])
    missing = CliRunner().invoke(app, ["eval", "answers", str(tmp_path / "nothing"), str(file)])
    assert missing.exit_code != 0 and "Traceback" not in missing.output


def test_replies_to_imported_yes_no_questions_are_read_as_yes_or_no(tmp_path):
    items = [{"instruction": "Is this molecule toxic? Answer yes or no.", "input": smiles, "output": answer,
              "metadata": {"task": "toxicity_yes_no", "split": "test"}}
             for smiles, answer in (("[C][C][O]", "Yes"), ("[C][C][=O]", "No"), ("[O]", "Yes"), ("[N]", "No"))]
    (tmp_path / "toxicity.json").write_text(json.dumps(items))
    (tmp_path / "c.yaml").write_text(json.dumps({"name": "yn", "sources": [
        {"kind": "mol_instructions", "path": str(tmp_path / "toxicity.json"), "tasks": ["*"]}],
        "split": {"method": "keep"}}))
    build(load_config(tmp_path / "c.yaml"), tmp_path / "out")
    replies = ["Yes.", "No, it does not.", "yes", "The answer is no."]
    ids = [r.id for r in read_split(tmp_path / "out", "test")]
    (tmp_path / "replies.jsonl").write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n"
                                                    for i, p in zip(ids, replies, strict=True)))
    reports, issues = score_reply_file(tmp_path / "out", "test", tmp_path / "replies.jsonl")
    assert reports["toxicity_yes_no"].metrics["accuracy"].value == 1.0 and not issues

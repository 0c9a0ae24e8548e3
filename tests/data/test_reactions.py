"""Reactions from USPTO-style files: parsing, the three reaction tasks (SMILES and SELFIES), splits, scoring.

The reactions are real patent chemistry written here in the files' own layouts: an amide coupling, a
Boc deprotection, a Suzuki coupling, an ester saponification, a reductive amination and a Williamson
ether synthesis (USPTO-50k's CSV with atom maps, USPTO-MIT's one-per-line text, Lowe's .rsmi with a
CXSMILES fragment group, MDL RXN and RDfiles made by RDKit).
"""

from __future__ import annotations

import gzip
import json

import pytest
import selfies
import yaml
from rdkit import Chem
from rdkit.Chem import rdChemReactions

from molbridge.apps.copy_baseline import copy_answers
from molbridge.apps.predict import Prediction
from molbridge.apps.scoring import score_predictions
from molbridge.chem.reactions import ReactionError, parse_reaction
from molbridge.data.build.config import ConfigError, load_config
from molbridge.data.build.pipeline import build
from molbridge.data.formats.mol_instructions import read_mol_instructions
from molbridge.data.parquet_io import read_split
from molbridge.data.sources.reactions import read_reactions
from molbridge.data.sources.reading import Reading
from molbridge.data.splits import group_key
from molbridge.errors import FileFormatError
from molbridge.models.encoders import encoder_kind
from molbridge.tasks import TASKS, task_for
from molbridge.train.config import MultimodalSettings
from molbridge.train.examples import ExampleError
from molbridge.train.recipes import EncoderInputs, soft_token_examples

AMIDE = ("[CH3:1][C:2](=[O:3])[Cl:4].[NH2:5][c:6]1[cH:7][cH:8][cH:9][cH:10][cH:11]1.ClCCl>CCN(CC)CC>"
         "[CH3:1][C:2](=[O:3])[NH:5][c:6]1[cH:7][cH:8][cH:9][cH:10][cH:11]1")
BOC = "CC(C)(C)OC(=O)N1CCC(C(=O)O)CC1>O=C(O)C(F)(F)F.ClCCl>O=C(O)C1CCNCC1"
SUZUKI = "Brc1ccc(C#N)cc1.OB(O)c1ccccc1>Cc1ccccc1.O=C([O-])[O-].[K+].[K+].c1ccc([P](c2ccccc2)c2ccccc2)cc1>N#Cc1ccc(-c2ccccc2)cc1"
SAPONIFICATION = "COC(=O)c1ccc(O)cc1>[Na+].[OH-].CO>O=C(O)c1ccc(O)cc1 |f:1.2|"
REDUCTIVE_AMINATION = "O=Cc1ccccc1.NCC1CC1>[BH3-]C#N.[Na+].CO>c1ccc(CNCC2CC2)cc1 |f:2.3|"
WILLIAMSON = "Oc1ccc(Cl)cc1.BrCc1ccccc1>O=C([O-])[O-].[K+].[K+].CC(C)=O>Clc1ccc(OCc2ccccc2)cc1 |f:2.3.4|"


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def test_atom_maps_stripped_components_sorted_and_reagents_split_off():
    reaction = parse_reaction(AMIDE, unmapped_reactants_as_reagents=True)
    assert reaction.reactants == ("CC(=O)Cl", "Nc1ccccc1")  # maps gone, canonical, sorted
    assert reaction.reagents == ("CCN(CC)CC", "ClCCl")  # dichloromethane reaches no product atom: a reagent
    assert reaction.products == ("CC(=O)Nc1ccccc1",) and ":" not in reaction.smiles
    assert parse_reaction(AMIDE).reactants == ("CC(=O)Cl", "ClCCl", "Nc1ccccc1")  # kept as written by default


def test_cxsmiles_fragment_groups_keep_salts_whole():
    reaction = parse_reaction(SAPONIFICATION)
    assert reaction.reagents == ("CO", "[Na+].[OH-]")  # |f:1.2| makes sodium hydroxide one component
    assert parse_reaction(REDUCTIVE_AMINATION).reagents == ("CO", "[BH3-]C#N.[Na+]")
    assert parse_reaction("CCO>>CC=O |f:0.7|").reactants == ("CCO",)  # a group beyond the fragments is ignored


def test_main_product_is_the_largest():
    assert parse_reaction("CC(=O)OC(C)=O.OCc1ccccc1>>CC(=O)OCc1ccccc1.CC(=O)O").main_product == "CC(=O)OCc1ccccc1"


@pytest.mark.parametrize(("text", "kind", "words"), [
    ("CCO>>", "unparsable", "no products"),
    (">>CCO", "unparsable", "no reactants"),
    ("C(C>>CC", "unparsable", "reactant 1 'C(C'"),
    ("CC>C1CC>CC", "unparsable", "reagent 1"),
    ("CCO>CC", "unparsable", "found 1 '>'"),
    ("CC(=O)O>>CC(=O)OBr", "unbalanced", "holds Br"),  # nothing supplies the bromine
    ("[CH3:1][OH:2]>>[CH3:1][O:2][CH3:3]", "unbalanced", "map numbers [3]"),
    ("CC.O>>CCO |f:0.2|", "unparsable", "spans"),
])
def test_bad_reactions_are_named(text, kind, words):
    with pytest.raises(ReactionError) as caught:
        parse_reaction(text)
    assert caught.value.kind == kind and words in str(caught.value)


def test_unmapped_product_atoms_are_balanced_against_reagents_too():
    assert parse_reaction("c1ccccc1>BrBr.[Fe]>Brc1ccccc1").products == ("Brc1ccccc1",)  # Br from the reagent
    # a reactant used twice is written once: counts are not compared
    assert parse_reaction("OCCO.CC(=O)Cl>>CC(=O)OCCOC(C)=O").products == ("CC(=O)OCCOC(C)=O",)
    assert parse_reaction("OB(O)c1ccccc1.Brc1ccc(Br)cc1>[Pd]>c1ccc(-c2ccc(-c3ccccc3)cc2)cc1").reactants == (
        "Brc1ccc(Br)cc1", "OB(O)c1ccccc1")


def test_uspto_50k_csv_counts_and_names_bad_rows(tmp_path):
    path = tmp_path / "uspto50k.csv"
    path.write_text("id,class,reactants>reagents>production\n"
                    f"US05849732,2,{AMIDE}\n"
                    "US20130012345A1,6,C1CC(>>CC\n"
                    "US08080563B2,1,CC(=O)O>>CC(=O)OBr\n"
                    f"US04000000,3,{BOC}\n")
    reading = Reading()
    entries = list(read_reactions(path, reading))
    assert [(e.source_id, e.extra["reaction_class"]) for e in entries] == [("US05849732", "2"), ("US04000000", "3")]
    assert dict(reading.counts) == {"unparsable": 1, "unbalanced": 1}
    assert [p.where for p in reading.problems] == [f"{path}:3", f"{path}:4"]
    assert "not a valid SMILES" in reading.problems[0].reason and "holds Br" in reading.problems[1].reason


def test_uspto_mit_lines_rsmi_tables_and_gzip(tmp_path):
    mit = tmp_path / "train.txt.gz"
    mit.write_bytes(gzip.compress(f"{AMIDE} 2-5;4-5\n\n{SUZUKI}\n".encode()))
    entries = list(read_reactions(mit, Reading()))
    assert [e.where for e in entries] == [f"{mit}:1", f"{mit}:3"]
    assert entries[1].reaction.products == ("N#Cc1ccc(-c2ccccc2)cc1",)
    rsmi = tmp_path / "lowe.rsmi"
    rsmi.write_text("ReactionSmiles\tPatentNumber\tParagraphNum\tYear\n"
                    f"{WILLIAMSON}\tUS03930836\t[0012]\t1976\n")
    (entry,) = read_reactions(rsmi, Reading())
    assert entry.source_id == "US03930836" and entry.reaction.reagents == ("CC(C)=O", "O=C([O-])[O-].[K+].[K+]")


def test_mdl_rxn_and_rdfiles(tmp_path):
    block = rdChemReactions.ReactionToRxnBlock(rdChemReactions.ReactionFromSmarts(
        "[CH3:1][C:2](=[O:3])[Cl:4].[NH2:5][CH3:6]>>[CH3:1][C:2](=[O:3])[NH:5][CH3:6]", useSmiles=True))
    directory = tmp_path / "rxn"
    directory.mkdir()
    (directory / "acylation.rxn").write_text(block)
    (entry,) = read_reactions(directory, Reading())
    assert entry.reaction.smiles == "CC(=O)Cl.CN>>CNC(C)=O" and entry.position == "acylation"
    rdf = tmp_path / "set.rdf"
    rdf.write_text("$RDFILE 1\n$DATM    2024-01-01\n$RFMT $RIREG 101\n" + block + "$DTYPE YIELD\n$DATUM 91\n"
                   "$RFMT $RIREG 102\n$DTYPE NOTE\n$DATUM no reaction here\n")
    reading = Reading()
    (entry,) = read_reactions(rdf, reading)
    assert entry.source_id == "101" and reading.problems[0].where == f"{rdf}[#2]"


def test_unreadable_files_fail_before_work(tmp_path):
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(FileFormatError, match="unknown reaction file type"):
        list(read_reactions(tmp_path / "r.json", Reading()))
    (tmp_path / "r.csv").write_text("id,smiles_of_something_else\n1,CCO\n")
    with pytest.raises(FileFormatError, match="column"):
        list(read_reactions(tmp_path / "r.csv", Reading(), column="rxn"))
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(FileFormatError, match="empty"):
        list(read_reactions(tmp_path / "empty.txt", Reading()))
    (tmp_path / "latin1.txt").write_bytes(b"CCO>>CC=O\n\xe9\xff>>C\n")
    with pytest.raises(FileFormatError, match="UTF-8"):
        list(read_reactions(tmp_path / "latin1.txt", Reading()))
    with pytest.raises(FileFormatError, match="no such reaction file"):
        list(read_reactions(tmp_path / "absent.csv", Reading()))


def _build(tmp_path, rows: list[str], tasks: list[str], **split) -> tuple[dict, list]:
    table = tmp_path / "reactions.csv"
    table.write_text("id,class,reactants>reagents>production\n" + "".join(f"R{i},0,{r}\n" for i, r in enumerate(rows)))
    config = tmp_path / "build.yaml"
    config.write_text(yaml.safe_dump({"name": "rx", "sources": [{"kind": "reactions", "path": str(table),
                                                                   "tasks": tasks}],
                                      "split": split or {"method": "scaffold"}}))
    card = build(load_config(config), tmp_path / "out")
    records = [r for split_name in ("train", "validation", "test") for r in read_split(tmp_path / "out", split_name)]
    return card, records


def test_build_writes_all_six_reaction_tasks(tmp_path):
    tasks = [t.name for t in TASKS if t.needs == frozenset({"smiles", "reaction"})]
    assert len(tasks) == 6
    card, records = _build(tmp_path, [AMIDE, BOC, SUZUKI, SAPONIFICATION, "CC>>CCBr", WILLIAMSON], tasks)
    assert card["tasks"] == dict.fromkeys(tasks, 5)  # every reaction has reagents here; the unbalanced one is dropped
    assert card["problems"]["0"]["counts"] == {"unbalanced": 1}
    by_task = {(r.task, r.meta.source_id): r for r in records}
    forward = by_task[("forward_reaction_prediction_smiles", "R1")]
    assert forward.input == "CC(C)(C)OC(=O)N1CCC(C(=O)O)CC1.ClCCl.O=C(O)C(F)(F)F" and forward.output == \
        "O=C(O)C1CCNCC1"
    assert by_task[("retrosynthesis_smiles", "R1")].input == "O=C(O)C1CCNCC1"
    assert by_task[("reagent_prediction_smiles", "R0")].input == "CC(=O)Cl.ClCCl.Nc1ccccc1>>CC(=O)Nc1ccccc1"
    assert all(":" not in r.input + r.output for r in records)
    selfies_forward = by_task[("forward_reaction_prediction", "R2")]  # Mol-Instructions' name: SELFIES
    assert canonical(selfies.decoder(selfies_forward.output)) == "N#Cc1ccc(-c2ccccc2)cc1"
    decoded = {canonical(selfies.decoder(s)) for s in selfies_forward.input.split(".")}
    assert decoded >= {canonical("Brc1ccc(C#N)cc1"), canonical("OB(O)c1ccccc1")}
    for record in records:  # the record is about the main product, which a split never divides
        assert record.modalities.smiles in record.meta.extra["products"]


def test_a_product_scaffold_never_spans_two_splits(tmp_path):
    # acetanilide (AMIDE) and 4-hydroxybenzoic acid (SAPONIFICATION) share the benzene scaffold
    _, records = _build(tmp_path, [AMIDE, SAPONIFICATION, BOC], ["retrosynthesis_smiles"], method="scaffold",
                        fractions=[0.34, 0.33, 0.33], seed=3)
    by_id = {r.meta.source_id: r for r in records}
    assert group_key(by_id["R0"], "scaffold") == group_key(by_id["R1"], "scaffold") == "scaffold:c1ccccc1"
    assert by_id["R0"].meta.split == by_id["R1"].meta.split
    assert group_key(by_id["R2"], "scaffold") == "scaffold:C1CCNCC1"


def test_each_task_asks_its_question_once(tmp_path):
    rows = ["CC(=O)OC(C)=O.OCc1ccccc1>>CC(=O)OCc1ccccc1.CC(=O)O", "OCc1ccccc1.CC(=O)OC(C)=O>>CC(=O)OCc1ccccc1.CC(=O)O",
            "CC(=O)Cl.OCc1ccccc1>>CC(=O)OCc1ccccc1",  # a repeat (components reordered) and a second route
            f"{AMIDE.split('>')[0]}>ClCCl>{AMIDE.split('>')[2]}", f"{AMIDE.split('>')[0]}>CCOCC>{AMIDE.split('>')[2]}"]
    card, records = _build(tmp_path, rows, ["forward_reaction_prediction_smiles", "retrosynthesis_smiles",
                                            "reagent_prediction_smiles"])
    # forward: 2 routes + 2 solvents; retrosynthesis: the two solvents ask one question; reagents: only the
    # two reactions that have reagents, each a different reaction
    assert card["tasks"] == {"forward_reaction_prediction_smiles": 4, "retrosynthesis_smiles": 3,
                             "reagent_prediction_smiles": 2}
    assert card["qc"]["dropped"] == {"duplicate": 3}
    assert {r.output for r in records if r.task == "reagent_prediction_smiles"} == {"ClCCl", "CCOCC"}


def test_a_task_that_cannot_write_its_record_costs_that_record_only(tmp_path):
    # Dess-Martin periodinane (hypervalent iodine) is a reagent SELFIES cannot encode
    dess_martin = "OCc1ccccc1>CC(=O)OI1(OC(C)=O)(OC(C)=O)OC(=O)c2ccccc21.ClCCl>O=Cc1ccccc1"
    card, _ = _build(tmp_path, [dess_martin, AMIDE], ["retrosynthesis", "reagent_prediction",
                                                            "reagent_prediction_smiles"])
    assert card["tasks"] == {"retrosynthesis": 2, "reagent_prediction": 1, "reagent_prediction_smiles": 2}
    assert card["problems"]["0"]["build"] == 1
    where, reason = card["problems"]["0"]["examples"][0]
    assert where.endswith("reactions.csv:2") and reason.startswith("reagent_prediction: invalid molecule")


def test_copy_baseline_searches_a_question_by_its_input_never_its_answer(tmp_path):
    _, records = _build(tmp_path, [AMIDE, BOC, SUZUKI, WILLIAMSON], ["forward_reaction_prediction_smiles"],
                        method="random", fractions=[1.0, 0.0, 0.0])
    amide, suzuki = (next(r for r in records if r.meta.source_id == i) for i in ("R0", "R2"))
    # the amide's reactants asked, the Suzuki product as the record's molecule: the neighbour is the amide
    query = amide.model_copy(update={"id": "query", "output": suzuki.output, "modalities": suzuki.modalities})
    assert copy_answers(records, [query]) == {"query": amide.output}
    task = TASKS.get("forward_reaction_prediction_smiles")
    assert task.molecule(query) == amide.input


def test_imported_mol_instructions_reactions_are_read_as_selfies(tmp_path):
    reactants, product = selfies.encoder("CC(=O)Cl.NC"), selfies.encoder("CNC(C)=O")  # as Mol-Instructions writes
    (tmp_path / "forward_reaction_prediction.json").write_text(json.dumps([
        {"instruction": "With the provided reactants and reagents, propose a potential product.",
         "input": reactants, "output": product, "metadata": {"task": "forward_reaction_prediction",
                                                             "split": "train"}}]))
    (record,) = read_mol_instructions(tmp_path / "forward_reaction_prediction.json").records
    task = task_for(record.task)
    assert task.answer.name == "selfies" and task.molecule(record) == "CC(=O)Cl.CN"
    prediction = Prediction(record.id, task.name, "selfies", task.group(record), record.output, product, product,
                            task.answer.valid(product))
    assert score_predictions([prediction])[task.name].metrics["exact_match"].value == 1.0


def test_reaction_answers_scored_as_molecules_through_the_registry():
    def row(task: str, kind: str, reference: str, answer: str, i: int) -> Prediction:
        valid = TASKS.get(task).answer.valid(answer)
        return Prediction(f"r{i}", task, kind, task, reference, answer, answer, valid)

    reference = "CC(=O)Cl.Nc1ccccc1"
    rows = [row("retrosynthesis_smiles", "smiles", reference, "Nc1ccccc1.CC(Cl)=O", 0),  # same molecules, other order
            row("retrosynthesis_smiles", "smiles", reference, "CC(=O)Cl", 1),
            row("retrosynthesis_smiles", "smiles", reference, "C1CC(", 2)]
    report = score_predictions(rows)["retrosynthesis_smiles"]
    assert report.counts["invalid_outputs"] == 1 and report.n == 3
    assert report.metrics["exact_match"].value == pytest.approx(1 / 3)
    encoded = ".".join(selfies.encoder(s) for s in reference.split("."))
    answer = TASKS.get("retrosynthesis").answer.extract(f"Reactants: {encoded}")
    assert answer == encoded  # every component is read, not only the first
    report = score_predictions([row("retrosynthesis", "selfies", encoded, answer, 0)])["retrosynthesis"]
    assert report.metrics["exact_match"].value == 1.0


def test_a_soft_token_run_refuses_tasks_whose_input_is_not_the_encoded_molecule(tmp_path):
    _, records = _build(tmp_path, [AMIDE], ["forward_reaction_prediction_smiles", "retrosynthesis_smiles"],
                        method="random", fractions=[1.0, 0.0, 0.0])
    inputs = EncoderInputs(encoder_kind("gin"), MultimodalSettings(encoder="gin"), seed=0)
    forward = [r for r in records if r.task == "forward_reaction_prediction_smiles"]
    with pytest.raises(ExampleError, match="would show the model its answer"):
        soft_token_examples(forward, TASKS.get(forward[0].task), None, inputs=inputs, count=len)


def test_config_refuses_reaction_tasks_from_a_molecule_source(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "x", "sources": [{"kind": "moses", "limit": 3,
                                                                  "tasks": ["retrosynthesis"]}]}))
    with pytest.raises(ConfigError, match="lacks reaction"):
        load_config(config)

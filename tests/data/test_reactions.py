"""Reactions from USPTO-style files: parsing, the three reaction tasks (SMILES and SELFIES), splits, scoring.

The reactions are real patent chemistry written here in the files' own layouts: an amide coupling, a
Boc deprotection, a Suzuki coupling, an ester saponification, a reductive amination and a Williamson
ether synthesis (USPTO-50k's CSV with atom maps, USPTO-MIT's one-per-line text, Lowe's .rsmi with a
CXSMILES fragment group, MDL RXN and RDfiles made by RDKit).
"""

from __future__ import annotations

import gzip

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
from molbridge.data.parquet_io import read_split
from molbridge.data.sources.reactions import read_reactions
from molbridge.data.sources.reading import Reading
from molbridge.data.splits import group_key
from molbridge.errors import FileFormatError
from molbridge.tasks import TASKS

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
    ("CC(=O)O>>CC(=O)OBr", "unbalanced", "1 Br"),  # nothing supplies the bromine
    ("[CH3:1][OH:2]>>[CH3:1][O:2][CH3:3]", "unbalanced", "map numbers [3]"),
    ("CC.O>>CCO |f:0.2|", "unparsable", "spans"),
])
def test_bad_reactions_are_named(text, kind, words):
    with pytest.raises(ReactionError) as caught:
        parse_reaction(text)
    assert caught.value.kind == kind and words in str(caught.value)


def test_unmapped_product_atoms_are_balanced_against_reagents_too():
    assert parse_reaction("c1ccccc1>BrBr.[Fe]>Brc1ccccc1").products == ("Brc1ccccc1",)  # Br from the reagent


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
    assert "not a valid SMILES" in reading.problems[0].reason and "Br" in reading.problems[1].reason


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
    forward = by_task[("forward_reaction_prediction", "R1")]
    assert forward.input == "CC(C)(C)OC(=O)N1CCC(C(=O)O)CC1.ClCCl.O=C(O)C(F)(F)F" and forward.output == \
        "O=C(O)C1CCNCC1"
    assert by_task[("retrosynthesis", "R1")].input == "O=C(O)C1CCNCC1"
    assert by_task[("reagent_prediction", "R0")].input == "CC(=O)Cl.ClCCl.Nc1ccccc1>>CC(=O)Nc1ccccc1"
    assert all(":" not in r.input + r.output for r in records)
    selfies_forward = by_task[("forward_reaction_prediction_selfies", "R2")]
    assert canonical(selfies.decoder(selfies_forward.output)) == "N#Cc1ccc(-c2ccccc2)cc1"
    decoded = {canonical(selfies.decoder(s)) for s in selfies_forward.input.split(".")}
    assert decoded >= {canonical("Brc1ccc(C#N)cc1"), canonical("OB(O)c1ccccc1")}
    for record in records:  # the record is about the main product, which a split never divides
        assert record.modalities.smiles in record.meta.extra["products"]
    splits = {}
    for record in records:
        splits.setdefault(group_key(record, "scaffold"), set()).add(record.meta.split)
    assert all(len(s) == 1 for s in splits.values())


def test_reaction_without_reagents_asks_no_reagent_question_and_repeats_are_duplicates(tmp_path):
    rows = ["CC(=O)OC(C)=O.OCc1ccccc1>>CC(=O)OCc1ccccc1.CC(=O)O", "OCc1ccccc1.CC(=O)OC(C)=O>>CC(=O)OCc1ccccc1.CC(=O)O",
            "CC(=O)Cl.OCc1ccccc1>>CC(=O)OCc1ccccc1"]  # a repeat (components reordered) and a second route
    card, _ = _build(tmp_path, rows, ["forward_reaction_prediction", "reagent_prediction"])
    assert card["tasks"] == {"forward_reaction_prediction": 2} and card["qc"]["dropped"] == {"duplicate": 1}


def test_copy_baseline_searches_forward_questions_by_reactants(tmp_path):
    _, records = _build(tmp_path, [AMIDE, BOC, SUZUKI, WILLIAMSON], ["forward_reaction_prediction"],
                        method="random", fractions=[1.0, 0.0, 0.0])
    query = records[0].model_copy(update={"id": "query"})  # the same reactants as a pool record
    assert copy_answers(records, [query]) == {"query": records[0].output}
    task = TASKS.get("forward_reaction_prediction")
    assert task.molecule(query) == ".".join(query.meta.extra["reactants"] + query.meta.extra["reagents"])


def test_reaction_answers_scored_as_molecules_through_the_registry():
    def row(task: str, kind: str, reference: str, answer: str, i: int) -> Prediction:
        valid = TASKS.get(task).answer.valid(answer)
        return Prediction(f"r{i}", task, kind, task, reference, answer, answer, valid)

    reference = "CC(=O)Cl.Nc1ccccc1"
    rows = [row("retrosynthesis", "smiles", reference, "Nc1ccccc1.CC(Cl)=O", 0),  # same molecules, other order
            row("retrosynthesis", "smiles", reference, "CC(=O)Cl", 1), row("retrosynthesis", "smiles", reference,
                                                                           "C1CC(", 2)]
    report = score_predictions(rows)["retrosynthesis"]
    assert report.counts["invalid_outputs"] == 1 and report.n == 3
    assert report.metrics["exact_match"].value == pytest.approx(1 / 3)
    encoded = ".".join(selfies.encoder(s) for s in reference.split("."))
    answer = TASKS.get("retrosynthesis_selfies").answer.extract(f"Reactants: {encoded}")
    assert answer == encoded  # every component is read, not only the first
    report = score_predictions([row("retrosynthesis_selfies", "selfies", encoded, answer, 0)])["retrosynthesis_selfies"]
    assert report.metrics["exact_match"].value == 1.0


def test_config_refuses_reaction_tasks_from_a_molecule_source(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "x", "sources": [{"kind": "moses", "limit": 3,
                                                                  "tasks": ["retrosynthesis"]}]}))
    with pytest.raises(ConfigError, match="lacks reaction"):
        load_config(config)

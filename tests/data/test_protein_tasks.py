"""UniProt/GO proteins: joined annotations, the three protein tasks, QC and split of proteins, in a build."""

from __future__ import annotations

import itertools

import pytest
import yaml

from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.fetch import uniprot_go_paths
from molbridge.data.qc import QualityControl
from molbridge.data.sources.uniprot_go import read_uniprot_go
from molbridge.tasks.proteins import go_description
from tests.conftest import records_of

TASKS = ("protein_function", "protein_description", "protein_design")


def protein_records(protein, tasks=TASKS):
    return records_of("uniprot_go", protein, tasks)


def description(protein):
    return go_description(protein.terms)


@pytest.fixture(scope="module")
def proteins():
    problems = []
    found = list(itertools.islice(read_uniprot_go(*uniprot_go_paths(), problems=problems), 300))
    return found, problems


def test_proteins_carry_known_mf_terms_and_unknown_ones_are_counted(proteins):
    found, problems = proteins
    assert len(found) == 300 and all(p.terms and all(t.namespace == "MF" for t in p.terms) for p in found)
    assert problems and all("no GO term" in p.reason or "alphabet" in p.reason for p in problems)
    assert found[0].accession == "B0RED7"


def test_protein_tasks_use_go_text_only(proteins):
    protein = proteins[0][5]
    function, describe, design = protein_records(protein)
    assert function.input == describe.input == design.output == protein.sequence
    assert all(t.name in function.output for t in protein.terms)
    assert describe.output == design.input == description(protein)
    assert describe.output.startswith("This protein's molecular functions (Gene Ontology) are ")
    assert function.meta.extra["go"] == [t.go_id for t in protein.terms] and function.meta.license.startswith("CC BY")


def test_qc_drops_duplicate_and_out_of_window_sequences(proteins):
    records = [r for p in proteins[0][:20] for r in protein_records(p, ("protein_function",))]
    qc = QualityControl()
    kept = qc.filter(records + records[:3])
    assert qc.report.dropped["duplicate"] == 3
    assert all(30 <= len(r.modalities.protein_sequence) <= 2000 for r in kept)
    assert qc.report.dropped.get("protein_length", 0) == 20 - len(kept)


def test_a_build_with_proteins_plots_their_lengths(tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text(yaml.safe_dump({"name": "proteins", "chunk_size": 50, "sources": [
        {"kind": "uniprot_go", "limit": 120, "tasks": ["protein_function", "protein_design"]}]}))
    card = build(load_config(config), tmp_path / "out")
    assert set(card["tasks"]) == {"protein_function", "protein_design"} and card["proteins"] > 100
    assert "protein length (residues)" in card["plots"] and card["molecule_stats"]["protein_length"]["min"] >= 30


@pytest.mark.parametrize("method", ["mmseqs2", "kmer"])
def test_clustering_groups_identical_and_homologous_sequences(method):
    from molbridge.protein.cluster import cluster_sequences

    base = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWUAYHLRELKLA"
    variant = base[:100] + "W" + base[101:150] + "Y" + base[151:]  # two substitutions: ~99% identity
    other = "MSEQNTLLVLGATGGVGRSLVEQLLARGHQVTAAVRNPAKAAALAGLDGVRVVQADLTDAASLPAALEGVDAVVSALGTSGLNPDGSTYREVDVEGTRNLLAAA"
    clusters, used = cluster_sequences({"a": base, "b": variant, "c": other, "d": base}, method=method)
    assert used == method
    assert clusters["a"] == clusters["b"] == clusters["d"] != clusters["c"] == "c"


def test_cluster_split_and_redundancy_in_a_build(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "clustered", "chunk_size": 100, "split": {"method": "cluster"},
                                      "sources": [{"kind": "uniprot_go", "limit": 400, "tasks": ["protein_function"],
                                                   "cluster": {"min_seq_id": 0.5, "method": "kmer"}}]}))
    card = build(load_config(config), tmp_path / "out")
    assert card["qc"]["dropped"]["redundant_protein"] > 0
    source = card["problems"]["0"]
    assert source["notes"]["clustering"] == "kmer at 50% identity, 80% coverage"  # the method that ran
    assert source["counts"]["obsolete_go_terms"] > 0 and "clustering: kmer" in (tmp_path / "out" / "card.md").read_text()
    assert all(where.startswith("metastudent-data:") for where, _ in source["examples"])  # no machine paths
    from molbridge.data.parquet_io import read_shard

    records = [r for shard in (tmp_path / "out" / "data").glob("*.parquet") for r in read_shard(shard)]
    assert all(r.meta.extra["cluster"] == r.meta.source_id for r in records)  # only representatives kept


def test_closed_set_questions_pair_a_true_term_with_an_unrelated_false_one(proteins):
    from molbridge.protein.go import mf_relations

    relations = mf_relations(str(uniprot_go_paths()[1]))
    labels = []
    for protein in proteins[0][:60]:
        yes, no = protein_records(protein, ("protein_go_yes_no",))
        true_ids = {t.go_id for t in protein.terms}
        assert (yes.output, no.output) == ("Yes", "No") and yes.input == no.input == protein.sequence
        assert yes.meta.extra["go_id"] in true_ids and relations.names[yes.meta.extra["go_id"]] in yes.instruction
        false_id = no.meta.extra["go_id"]
        assert false_id not in true_ids and relations.names[false_id] in no.instruction
        assert not any(false_id in relations.related.get(t, frozenset()) for t in true_ids)  # no ancestor/descendant
        labels += [yes.meta.extra["label"], no.meta.extra["label"]]
    assert labels.count("yes") == labels.count("no") == 60
    # the two questions of one protein are two questions, not duplicates
    qc = QualityControl()
    assert len(qc.filter(protein_records(proteins[0][0], ("protein_go_yes_no",)))) == 2


def test_go_hierarchy_relates_a_term_to_its_ancestors_and_descendants():
    from molbridge.protein.go import mf_relations

    relations = mf_relations(str(uniprot_go_paths()[1]))
    catalytic, kinase = "GO:0003824", "GO:0016301"  # catalytic activity ⊃ … ⊃ kinase activity
    assert relations.names[kinase] == "kinase activity"
    assert kinase in relations.related[catalytic] and catalytic in relations.related[kinase]
    assert "GO:0005488" not in relations.related[kinase]  # binding: another branch

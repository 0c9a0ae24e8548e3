"""Imported records are split and deduplicated by what they are about (molecule, protein, named subject), a
published split can be kept, and `data audit` measures the leakage of any split."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import yaml

from molbridge.data.audit import audit, read_items
from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.parquet_io import read_shard

PROTEIN = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEK"
OTHER_PROTEIN = "MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERSGARSKQRRPQGLPNNTASW"
ETHANOL = ["CCO", "OCC", "C(O)C"]  # one molecule, three ways to write it


def build_from(tmp_path: Path, kind: str, items, *, splitting: dict | None = None, **options) -> tuple[Path, dict]:
    tmp_path.mkdir(exist_ok=True)
    data = tmp_path / f"{kind}.json"
    text = "".join(json.dumps(i) + "\n" for i in items) if kind == "sepit" else json.dumps(items)
    data.write_text(text)
    config = tmp_path / f"{kind}.yaml"
    config.write_text(yaml.safe_dump({"name": kind, "chunk_size": 7, "sources": [
        {"kind": kind, "path": str(data), "tasks": ["*"], **options}],
        "split": splitting or {"method": "random", "fractions": [0.34, 0.33, 0.33], "seed": 0}}))
    out = tmp_path / f"{kind}-out"
    return out, build(load_config(config), out)


def records(out: Path) -> list:
    return [r for shard in sorted((out / "data").glob("*.parquet")) for r in read_shard(shard)]


def splits_by(rows, key) -> dict:
    found = defaultdict(set)
    for r in rows:
        found[key(r)].add(r.meta.split)
    return found


def test_moit3d_records_of_one_cid_stay_in_one_split_and_a_cid_table_groups_by_molecule(tmp_path) -> None:
    items = [{"instruction": f"Question {q} about {cid}?", "input": cid, "output": f"Answer {q}.", "task": "QA"}
             for cid in ("702", "887", "2244", "5793") for q in range(8)]
    out, card = build_from(tmp_path, "moit3d", items)
    assert card["records"] == 32
    assert all(len(s) == 1 for s in splits_by(records(out), lambda r: r.meta.source_id).values())
    assert len({next(iter(s)) for s in splits_by(records(out), lambda r: r.meta.source_id).values()}) > 1

    table = tmp_path / "cid-smiles.tsv"  # three CIDs that name ethanol, one glucose
    table.write_text("CID\tSMILES\n702\tCCO\n887\tOCC\n2244\tC(O)C\n5793\tOC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O\n")
    joined, card = build_from(tmp_path / "joined", "moit3d", items, cid_table=str(table))
    rows = records(joined)
    assert card["records"] == 32
    assert {r.modalities.smiles for r in rows} >= set(ETHANOL)
    assert len({r.meta.split for r in rows if r.modalities.smiles in ETHANOL}) == 1  # one molecule, one split


def test_mol_instructions_protein_tasks_are_grouped_by_sequence_and_deduplicated(tmp_path) -> None:
    fenced = f"```\n{PROTEIN}\n```"
    items = [{"instruction": f"Describe the function of this protein ({q}).", "input": fenced, "output": "A kinase.",
              "metadata": {"task": "protein_function", "split": "train"}} for q in range(12)]
    items += [{"instruction": "Describe the function of this protein (0).", "input": fenced, "output": "A kinase.",
               "metadata": {"task": "protein_function", "split": "train"}},  # an exact repeat: a duplicate
              {"instruction": "Describe the function of this protein (0).", "input": OTHER_PROTEIN, "output": "N.",
               "metadata": {"task": "protein_function", "split": "test"}}]
    out, card = build_from(tmp_path, "mol_instructions", items)
    rows = records(out)
    assert card["qc"]["dropped"] == {"duplicate": 1} and len(rows) == 13
    assert {r.modalities.protein_sequence for r in rows} == {PROTEIN, OTHER_PROTEIN}
    assert all(len(s) == 1 for s in splits_by(rows, lambda r: r.modalities.protein_sequence).values())


def test_imported_property_questions_on_one_molecule_are_not_duplicates(tmp_path) -> None:
    items = [{"instruction": f"What is the {p} of this molecule?", "input": "[C][C][O]", "output": v,
              "metadata": {"task": "property_prediction", "split": "train"}}
             for p, v in (("HOMO", "-0.2553"), ("LUMO", "0.0512"), ("gap", "0.3065"), ("HOMO", "-0.2553"))]
    _, card = build_from(tmp_path, "mol_instructions", items)
    assert card["records"] == 3 and card["qc"]["dropped"] == {"duplicate": 1}


def test_sepit_records_join_their_sequences_and_group_by_them(tmp_path) -> None:
    fasta = tmp_path / "seq.fasta"
    fasta.write_text(f">P1 kinase\n{PROTEIN[:30]}\n{PROTEIN[30:]}\n>P2\n{OTHER_PROTEIN}\n>P4\n{PROTEIN}*\n")
    items = [{"id": pid, "conversation": [{"role": "user", "content": f"Is <protein> an enzyme ({q})?"},
                                          {"role": "assistant", "content": "Yes."}]}
             for pid in ("P1", "P2", "P3", "P4") for q in range(6)]
    out, card = build_from(tmp_path, "sepit", items, sequences=str(fasta))
    rows = records(out)  # every shard reads back: no sequence the schema refuses was written
    assert {r.modalities.protein_sequence for r in rows if r.meta.source_id == "P1"} == {PROTEIN}
    assert card["problems"]["0"]["counts"] == {"id_without_sequence": 6}  # P3: grouped by its id instead
    assert card["problems"]["0"]["reading"] == 6 and "from the table refused" in card["problems"]["0"]["examples"][0][1]
    assert all(r.modalities.protein_sequence is None for r in rows if r.meta.source_id == "P4")  # kept, by its id
    assert all(len(s) == 1 for s in splits_by(rows, lambda r: r.meta.source_id).values())


def test_keep_keeps_published_splits_and_the_audit_measures_their_leakage(tmp_path) -> None:
    items = [{"instruction": f"Describe it ({q}).", "input": "[C][C][O]", "output": f"Ethanol {q}.",
              "metadata": {"task": "molecular_description_generation", "split": split}}
             for q, split in enumerate(["train", "train", "test", "valid", "nonsense"])]
    out, card = build_from(tmp_path, "mol_instructions", items, splitting={"method": "keep"})
    rows = records(out)
    assert sorted(r.meta.split for r in rows) == ["test", "train", "train", "validation"]
    assert card["qc"]["dropped"] == {"no_published_split": 1} and card["records"] == 4
    leaked = audit(read_items(f"{out}:train"), read_items(f"{out}:test"))
    assert leaked.identical_inchikey == 1  # the published split puts ethanol on both sides

    ours, _ = build_from(tmp_path / "ours", "mol_instructions", items)
    train = read_items(f"{ours}:train") if list((ours / "data").glob("train-*")) else []
    test = read_items(f"{ours}:test") if list((ours / "data").glob("test-*")) else []
    assert audit(train, test).identical_inchikey == 0


def test_audit_counts_shared_proteins_and_subjects(tmp_path) -> None:
    from molbridge.data.audit import AuditItem

    a = [AuditItem("a1", "", "", PROTEIN), AuditItem("a2", "", "", "", "3d-moit:702")]
    b = [AuditItem("b1", "", "", PROTEIN), AuditItem("b2", "", "", "", "3d-moit:702"),
         AuditItem("b3", "", "", OTHER_PROTEIN)]
    report = audit(a, b)
    assert (report.identical_protein, report.identical_subject) == (1, 1)
    assert report.shared["identical_subject"][0].in_a == ["a2"]


def test_keep_needs_a_published_split_on_every_source(tmp_path) -> None:
    import pytest

    from molbridge.data.build.config import ConfigError

    items = [{"instruction": f"Q {q}?", "input": "702", "output": "A.", "task": "QA"} for q in range(4)]
    with pytest.raises(ConfigError, match="'moit3d' records carry none"):
        build_from(tmp_path / "a", "moit3d", items, splitting={"method": "keep"})
    with pytest.raises(ConfigError, match="'qm9' records carry none"):
        config = tmp_path / "b.yaml"
        config.write_text(yaml.safe_dump({"name": "b", "split": {"method": "keep"},
                                          "sources": [{"kind": "qm9", "limit": 2, "tasks": ["computed_property"]}]}))
        load_config(config)
    out, card = build_from(tmp_path / "c", "moit3d", items, splitting={"method": "keep"}, split="test")
    assert {r.meta.split for r in records(out)} == {"test"} and card["records"] == 4


def test_sepit_structures_from_pdb_h5_join_sequence_and_positions_and_mismatches_are_named(tmp_path) -> None:
    import h5py
    import numpy as np

    path = tmp_path / "pdb.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as handle:  # SEPIT-Data's layout: a group per id, sequence + node_position
        for name, sequence, residues in (("P1", PROTEIN, len(PROTEIN)), ("P2", OTHER_PROTEIN, len(OTHER_PROTEIN) - 3)):
            group = handle.create_group(name)
            group["sequence"] = np.array([sequence.encode()])
            group["node_position"] = rng.normal(size=(residues, 3)) * 10
    items = [{"id": pid, "conversation": [{"role": "user", "content": f"Is <protein> an enzyme ({q})?"},
                                          {"role": "assistant", "content": "Yes."}]}
             for pid in ("P1", "P2", "P3") for q in range(3)]
    out, card = build_from(tmp_path, "sepit", items, structures=str(path))
    rows = records(out)
    joined = [r for r in rows if r.meta.source_id == "P1"]
    assert all(r.modalities.protein_sequence == PROTEIN and len(r.modalities.protein_coords) == len(PROTEIN)
               for r in joined) and len(joined) == 3
    mismatched = [r for r in rows if r.meta.source_id == "P2"]
    assert all(r.modalities.protein_coords is None for r in mismatched)  # reported, not aligned
    problems = card["problems"]["0"]
    assert problems["counts"] == {"id_without_structure": 3}  # P3
    assert any(f"{len(OTHER_PROTEIN) - 3} positions for a sequence of {len(OTHER_PROTEIN)} residues" in reason
               for _, reason in problems["examples"])

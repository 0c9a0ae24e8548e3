"""`molbridge retrieve` with learned retrievers, GIN pre-training and in-context answers, on small files."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from molbridge.cli.main import app
from molbridge.eval.predictions import read_predictions
from molbridge.retrieval.graph_pretrain import pretrain_gin
from molbridge.retrieval.icl import IclSettingsError, fixed_subset, from_neighbours
from molbridge.retrieval.neighbours import Neighbours, read_neighbours
from tests.conftest import chebi_record

runner = CliRunner()
HEADER = "CID\tSMILES\tdescription\n"
POOL_ROWS = [("1", "CCO", "The molecule is ethanol, a primary alcohol used as a solvent."),
             ("2", "c1ccccc1O", "The molecule is phenol, an aromatic alcohol and antiseptic."),
             ("3", "CC(=O)O", "The molecule is acetic acid, a simple carboxylic acid found in vinegar."),
             ("4", "CCN", "The molecule is ethylamine, a primary aliphatic amine.")]
TEST_ROWS = [("t1", "CCCO", "The molecule is propanol, a primary alcohol solvent."),
             ("t2", "CCC(=O)O", "The molecule is propanoic acid, a short carboxylic acid like vinegar's."),
             ("t3", "Cc1ccccc1O", "The molecule is cresol, an aromatic alcohol related to phenol.")]


def table(path: Path, rows) -> Path:
    path.write_text(HEADER + "".join("\t".join(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    return table(tmp_path / "pool.txt", POOL_ROWS), table(tmp_path / "test.txt", TEST_ROWS)


@pytest.fixture(scope="module")
def gin_dir(tmp_path_factory) -> Path:
    smiles = [r[1] for r in POOL_ROWS + TEST_ROWS] * 4
    return pretrain_gin(smiles, tmp_path_factory.mktemp("gin"), max_steps=3, batch_size=8).encoder_dir


def test_minilm_copy_takes_the_caption_nearest_in_meaning(files, tmp_path):
    pool, test = files
    out = tmp_path / "t2m.tsv"
    result = runner.invoke(app, ["retrieve", "baseline", "--task", "text2mol", "--pool", str(pool), "--test",
                                 str(test), "--retriever", "minilm", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.prediction for p in read_predictions(out, "text2mol").pairs] == ["CCO", "CC(=O)O", "c1ccccc1O"]


def test_gin_copy_and_neighbours_with_an_encoder_directory(files, tmp_path, gin_dir):
    pool, test = files
    out, nb = tmp_path / "m2t.tsv", tmp_path / "nb.txt"
    result = runner.invoke(app, ["retrieve", "baseline", "--task", "mol2text", "--pool", str(pool), "--test",
                                 str(test), "--retriever", "gin", "--encoder", str(gin_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    predictions = [p.prediction for p in read_predictions(out, "mol2text").pairs]
    assert len(predictions) == 3 and set(predictions) <= {r[2] for r in POOL_ROWS}
    result = runner.invoke(app, ["retrieve", "neighbours", "--task", "mol2text", "--pool", str(pool), "--queries",
                                 str(pool), "--retriever", "gin", "--encoder", str(gin_dir), "--k", "2",
                                 "--out", str(nb)])
    assert result.exit_code == 0, result.output
    found = read_neighbours(nb).by_query
    assert set(found) == {"1", "2", "3", "4"}
    assert all(len(rows) == 2 and q not in {n for n, _ in rows} for q, rows in found.items())  # self excluded
    assert all(rows[0][1] >= rows[1][1] for rows in found.values())


def test_gin_without_a_pretrained_encoder_says_how_to_get_one(files, tmp_path, monkeypatch):
    monkeypatch.setenv("MOLBRIDGE_CACHE", str(tmp_path / "empty-cache"))
    pool, test = files
    result = runner.invoke(app, ["retrieve", "baseline", "--task", "mol2text", "--pool", str(pool), "--test",
                                 str(test), "--retriever", "gin", "--out", str(tmp_path / "x.tsv")])
    assert result.exit_code == 2 and "pretrain-gin" in result.output


def test_pretrain_gin_command_resumes_its_run(tmp_path):
    out = tmp_path / "run"
    args = ["retrieve", "pretrain-gin", "--out", str(out), "--molecules", "64", "--batch-size", "16"]
    first = runner.invoke(app, [*args, "--steps", "2"])
    assert first.exit_code == 0, first.output
    assert "pre-trained 2 steps on 64 molecules" in first.stdout and (out / "encoder").is_dir()
    second = runner.invoke(app, [*args, "--steps", "4"])
    assert second.exit_code == 0, second.output
    assert "pre-trained 4 steps, resumed from step 2" in second.stdout


def test_icl_from_a_neighbour_file_writes_scorable_predictions(files, tmp_path):
    pool, test = files
    nb = tmp_path / "nb.txt"
    nb.write_text("t1\t1\t0.9\nt1\t4\t0.5\nt2\t3\t0.8\nt2\t1\t0.2\nt3\t2\t0.7\nt3\t1\t0.1\n")
    out = tmp_path / "icl.tsv"
    result = runner.invoke(app, ["retrieve", "icl", "--task", "text2mol", "--pool", str(pool), "--test", str(test),
                                 "--neighbours", str(nb), "--k", "2", "--style", "completion",
                                 "--max-new-tokens", "24", "--out", str(out)])
    assert result.exit_code == 0, result.output
    pairs = read_predictions(out, "text2mol").pairs
    assert [p.reference for p in pairs] == [r[1] for r in TEST_ROWS]
    assert all(p.prediction is not None and " " not in p.prediction for p in pairs)
    scored = runner.invoke(app, ["eval", "text2mol", str(out), "--json", "--bootstrap", "0"])
    assert scored.exit_code == 0, scored.output


@pytest.mark.parametrize("extra, message", [
    ([], "exactly one of --retriever and --neighbours"),
    (["--retriever", "bm25", "--neighbours", "x.txt"], "exactly one of --retriever and --neighbours"),
    (["--retriever", "morgan"], "morgan"),  # a molecule retriever for a caption task
    (["--retriever", "bm25", "--selector", "best"], "unknown selector"),
])
def test_icl_refuses_bad_settings_before_loading_anything(files, tmp_path, extra, message):
    pool, test = files
    result = runner.invoke(app, ["retrieve", "icl", "--task", "text2mol", "--pool", str(pool), "--test", str(test),
                                 "--out", str(tmp_path / "x.tsv"), *extra])
    assert result.exit_code == 2 and message in result.output


def rec(cid: str):
    return chebi_record(cid, "C", "methane")


def test_from_neighbours_reports_unknown_ids_and_keeps_the_rest():
    pool, queries = [rec("a"), rec("b")], [rec("q1"), rec("q2")]
    found = from_neighbours(Neighbours({"q1": [("b", 0.9), ("zz", 0.5), ("a", 0.4)]}), pool, queries, k=3)
    assert found.indices.tolist() == [[1, 0, -1], [-1, -1, -1]]
    assert any("zz" in i for i in found.issues) and any("q2" in i for i in found.issues)


def test_fixed_subset_is_seeded_ordered_and_bounded():
    records = [rec(str(i)) for i in range(50)]
    a, b = fixed_subset(records, 10, seed=3), fixed_subset(records, 10, seed=3)
    assert a == b and len(a) == 10 and [r.meta.source_id for r in a] == sorted((r.meta.source_id for r in a), key=int)
    assert fixed_subset(records, 10, seed=4) != a and fixed_subset(records, 99) == records
    with pytest.raises(IclSettingsError):
        fixed_subset(records, 0)

"""Prediction readers: every problem is an error with file+line or a counted invalid output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from molbridge.errors import FileFormatError
from molbridge.eval.predictions import ColumnMap, read_predictions
from tests.conftest import EXAMPLES

CHEBI = "CID\tSMILES\tdescription\n1\tCCO\tThe molecule is ethanol.\n2\tC/C=C\\\\C\tThe molecule is 2-butene.\n3\tCCN\tAn amine.\n"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_molt5_examples_both_directions() -> None:
    m2t = read_predictions(EXAMPLES / "mol2text.tsv", "mol2text")
    assert len(m2t.pairs) == 8 and m2t.pairs[0].source == "CC(=O)OC1=CC=CC=C1C(=O)O"
    t2m = read_predictions(EXAMPLES / "text2mol.tsv", "text2mol")
    assert len(t2m.pairs) == 12
    assert t2m.pairs[-1].prediction is None and "line 13: ragged" in t2m.issues[0]


def test_wrong_direction_says_which_command(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="looks like a text2mol file") as err:
        read_predictions(EXAMPLES / "text2mol.tsv", "mol2text")
    assert err.value.line == 1


@pytest.mark.parametrize(
    ("content", "match", "line"),
    [
        (b"", "empty file", None),
        (b"SMILES\tground truth\toutput\n", "no prediction rows", None),
        (b"SMILES\tground\toutput\nC\tx\ty\n", "missing column", 1),
        (b"SMILES\tground truth\toutput\nCCO\ta caption\tok\nCCN\tb \xff\xfe caption\tbad\n", "not valid UTF-8", 3),
        (b"SMILES\tground truth\toutput\nCCO\t\tout\n", "empty 'ground truth'", 2),
        (b"SMILES\tground truth\toutput\toutput\nC\ta\tb\tc\n", "duplicate column", 1),
    ],
)
def test_malformed_molt5_files(tmp_path: Path, content: bytes, match: str, line: int | None) -> None:
    with pytest.raises(FileFormatError, match=match) as err:
        read_predictions(write(tmp_path, "p.tsv", content), "mol2text")
    assert err.value.line == line and str(err.value).startswith(str(tmp_path))


def test_truncated_file_keeps_the_row_as_invalid(tmp_path: Path) -> None:
    text = "SMILES\tground truth\toutput\nCCO\tethanol\tan alcohol\nCCN\tethylamine"  # cut mid-row
    pairs = read_predictions(write(tmp_path, "p.tsv", text), "mol2text")
    assert [p.prediction for p in pairs.pairs] == ["an alcohol", None]
    assert "line 3" in pairs.issues[0]


def test_missing_file() -> None:
    with pytest.raises(FileFormatError, match="file not found"):
        read_predictions("/no/such/file.tsv", "text2mol")


def test_molregpt_join_counts_missing_and_extra_ids(tmp_path: Path) -> None:
    ref = write(tmp_path, "test.txt", CHEBI)
    preds = write(tmp_path, "out.txt", "CID\tmolecule2caption\tcaption2molecule\n2\tA butene.\tCC=CC\n1\tAn alcohol.\tCCO\n99\tx\ty\n")
    t2m = read_predictions(preds, "text2mol", fmt="molregpt", reference=ref)
    assert [(p.key, p.reference, p.prediction) for p in t2m.pairs] == [
        ("1", "CCO", "CCO"), ("2", "C/C=C\\C", "CC=CC"), ("3", "CCN", None)]  # reference unescaped
    assert any("CID 3: no prediction" in i for i in t2m.issues) and any("99" in i for i in t2m.issues)
    m2t = read_predictions(preds, "mol2text", fmt="molregpt", reference=ref)
    assert m2t.pairs[0].reference == "The molecule is ethanol." and m2t.pairs[0].prediction == "An alcohol."


def test_molregpt_needs_reference_and_unique_ids(tmp_path: Path) -> None:
    preds = write(tmp_path, "out.txt", "CID\tmolecule2caption\tcaption2molecule\n1\ta\tC\n1\tb\tN\n")
    with pytest.raises(FileFormatError, match="--reference"):
        read_predictions(preds, "text2mol", fmt="molregpt")
    with pytest.raises(FileFormatError, match="duplicate id '1'") as err:
        read_predictions(preds, "text2mol", fmt="molregpt", reference=write(tmp_path, "t.txt", CHEBI))
    assert err.value.line == 3


def test_jsonl_with_column_map(tmp_path: Path) -> None:
    lines = [{"cid": "a", "gold": "CCO", "pred": "CCO"}, {"cid": "b", "gold": "CCN"}, {"cid": "c", "gold": "C", "pred": 5}]
    path = write(tmp_path, "p.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    pairs = read_predictions(path, "text2mol", fmt="jsonl", columns=ColumnMap(id="cid", reference="gold", prediction="pred"))
    assert [p.prediction for p in pairs.pairs] == ["CCO", None, None]
    assert len(pairs.issues) == 2 and "not text" in pairs.issues[1]


@pytest.mark.parametrize(("text", "match"), [
    ('{"reference": "C", "prediction": "C"}\n{"reference": "C", "prediction": \n', "invalid JSON"),
    ('["C", "C"]\n', "expected a JSON object"),
    ('{"prediction": "C"}\n', "missing or empty reference field"),
])
def test_malformed_jsonl(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(FileFormatError, match=match):
        read_predictions(write(tmp_path, "p.jsonl", text), "text2mol", fmt="jsonl")


def test_csv_joined_to_reference(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", 'id,prediction\n1,"The molecule is ethanol, an alcohol."\n3,An amine.\n')
    pairs = read_predictions(path, "mol2text", fmt="csv", reference=write(tmp_path, "t.txt", CHEBI))
    assert [p.prediction for p in pairs.pairs] == ["The molecule is ethanol, an alcohol.", None, "An amine."]

"""ChEBI-20 and ChEBI-20-MM readers on the real files and on malformed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from molbridge.data.sources.chebi20 import read_chebi20, read_chebi20_mm
from molbridge.errors import FileFormatError


def test_real_chebi20_splits(shared_data: Path) -> None:
    test = read_chebi20(shared_data / "chebi20" / "test.txt")
    assert len(test) == 3300 and len(read_chebi20(shared_data / "chebi20" / "validation.txt")) == 3301
    escaped = [r for r in test if r.smiles != r.smiles_raw]
    assert len(escaped) == 484 and all("\\\\" not in r.smiles for r in escaped)


def test_real_chebi20_mm(shared_data: Path) -> None:
    rows = read_chebi20_mm(shared_data / "chebi20-mm" / "test.csv")
    assert len(rows) == 3300
    assert sum(r.selfies is None for r in rows) == 487
    assert rows[0].inchi.startswith("InChI=1S/") and isinstance(rows[0].xlogp, float)


@pytest.mark.parametrize(("text", "match"), [
    ("CID\tSMILES\n1\tC\n", "missing column"),
    ("CID\tSMILES\tdescription\n1\tC\n", "ragged row"),
    ("CID\tSMILES\tdescription\n1\t\ta\n", "empty 'SMILES'"),
    ("CID\tSMILES\tdescription\n1\tC\ta\n1\tN\tb\n", "duplicate CID 1"),
])
def test_malformed_chebi20(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "t.txt"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=match):
        read_chebi20(path)


def test_bad_number_in_chebi20_mm(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("CID,SMILES,description,polararea,xlogp,inchi,iupacname,SELFIES\n1,C,methane,abc,1,,,\n")
    with pytest.raises(FileFormatError, match="'polararea' is not a number") as err:
        read_chebi20_mm(path)
    assert err.value.line == 2

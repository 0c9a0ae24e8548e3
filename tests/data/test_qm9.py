"""QM9 from qm9pack: the real files stream completely; malformed rows are reported, not fatal."""

from __future__ import annotations

import csv
import io
import itertools
import shutil

import pytest

from molbridge.data.sources.paths import display_path
from molbridge.data.sources.qm9 import PARTS, data_dir, read_qm9
from molbridge.errors import FileFormatError, MissingResourceError


def test_first_molecules_are_qm9s_with_geometry_and_properties():
    methane, ammonia = itertools.islice(read_qm9(), 2)
    assert (methane.index, methane.smiles, methane.atoms) == (1, "C", ["C", "H", "H", "H", "H"])
    assert len(methane.coords) == 5 and methane.properties["homo"] == pytest.approx(-0.3877)
    assert methane.properties["gap"] == pytest.approx(0.5048) and ammonia.smiles == "N"


def test_bare_decimal_points_in_coordinates_are_read():  # acetylene's "0." and "1." are not JSON numbers
    acetylene = next(itertools.islice(read_qm9(), 3, 4))
    assert acetylene.smiles == "C#C" and acetylene.coords[0][1:] == (0.0, 1.0)


def test_malformed_rows_become_problems_and_reading_goes_on(tmp_path):
    with (data_dir() / PARTS[0]).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(itertools.islice(reader, 5))
        columns = reader.fieldnames
    rows[1]["SMILES"] = ""
    rows[2]["HOMO_au"] = "abc"
    rows[3]["XYZ_Ang"] = "[[0, 0]]"
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (tmp_path / PARTS[0]).write_text(out.getvalue() + '"dsgdb9nsd_000006.xyz",6,"C=O","InChI=1S\n')  # truncated
    problems = []
    molecules = list(read_qm9(tmp_path, problems=problems))
    assert [m.index for m in molecules] == [1, 5]
    assert [p.where.rsplit(":", 1)[1] for p in problems[:4]] == ["3", "4", "5", "7"]
    assert "empty SMILES" in problems[0].reason and "abc" in problems[1].reason
    assert [(p.where, p.reason) for p in problems[4:]] == [
        (str(tmp_path / part), "QM9 part file missing; its molecules are not read") for part in PARTS[1:]]


def test_limit_and_missing_package(monkeypatch):
    assert len(list(read_qm9(limit=7))) == 7
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(MissingResourceError, match="qm9pack"):
        data_dir()


def test_a_missing_or_empty_directory_fails_when_the_reader_is_called(tmp_path):
    with pytest.raises(MissingResourceError, match="none of the QM9 files"):
        read_qm9(tmp_path)  # not iterated: the call itself fails
    shutil.rmtree(tmp_path)
    with pytest.raises(FileFormatError, match="no such QM9 directory") as caught:
        read_qm9(tmp_path)
    assert caught.value.path == str(tmp_path)


def test_package_files_are_named_by_package_not_by_this_machine(tmp_path):
    assert display_path(data_dir() / PARTS[0]) == f"qm9pack:data/{PARTS[0]}"
    assert next(read_qm9()).where == f"qm9pack:data/{PARTS[0]}:2"
    assert display_path(tmp_path / "x.csv") == str(tmp_path / "x.csv")  # not in a package: unchanged
    assert display_path("relative/x.csv") == "relative/x.csv"
    assert display_path(data_dir().parent.parent) == str(data_dir().parent.parent)  # site-packages itself

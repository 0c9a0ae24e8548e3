"""BLAST v4 protein databases and GO terms, on the real Debian data (fetched into the cache once)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from molbridge.data.fetch import uniprot_go_paths
from molbridge.errors import FileFormatError
from molbridge.protein.blastdb import BlastDB
from molbridge.protein.go import ROOTS, read_go_terms


@pytest.fixture(scope="session")
def paths():
    return uniprot_go_paths()


def test_the_mf_database_reads_titles_and_sequences(paths):
    db = BlastDB(paths[0])
    assert len(db) == 459503
    title, sequence = next(iter(db))
    assert title == "B0RED7|GO:0046933,GO:0046933" and sequence.startswith("MGSASRASLDSARRVLAEL")
    assert len(sequence) == 263 and db.sequence(len(db) - 1).isalpha()


def test_go_terms_have_names_namespaces_and_definitions(paths):
    terms = read_go_terms(paths[1])
    assert len(terms) > 40000 and not ROOTS & terms.keys()
    atp = terms["GO:0005524"]
    assert (atp.name, atp.namespace) == ("ATP binding", "MF") and "ATP" in atp.definition


def test_damaged_databases_name_the_file(paths, tmp_path):
    prefix = tmp_path / "db"
    for ext in (".psq", ".phr"):
        shutil.copy(f"{paths[0]}{ext}", f"{prefix}{ext}")
    with pytest.raises(FileFormatError, match="missing"):
        BlastDB(prefix)
    index = Path(f"{paths[0]}.pin").read_bytes()
    (tmp_path / "db.pin").write_bytes(index[:200])
    with pytest.raises(FileFormatError, match="truncated index"):
        BlastDB(prefix)
    (tmp_path / "db.pin").write_bytes(b"\x00\x00\x00\x05" + index[4:])
    with pytest.raises(FileFormatError, match="version 5"):
        BlastDB(prefix)
    (tmp_path / "go.sqlite").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(FileFormatError, match="GO.db"):
        read_go_terms(tmp_path / "go.sqlite")

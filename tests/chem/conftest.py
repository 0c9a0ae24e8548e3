"""Shared fixtures: the real ChEBI-20 test split, read in place (never copied into the repo)."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import SHARED_DATA

CHEBI20_TEST = SHARED_DATA / "chebi20" / "test.txt"


@pytest.fixture(scope="session")
def chebi20_test_smiles() -> list[str]:
    """Raw SMILES column of ChEBI-20 test (doubled backslashes as stored)."""
    if not CHEBI20_TEST.is_file():
        pytest.skip(f"ChEBI-20 test split not found at {CHEBI20_TEST}")
    with CHEBI20_TEST.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row["SMILES"] for row in rows]

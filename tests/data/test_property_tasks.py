"""Property tasks on real QM9 molecules: questions, answers with units, values in meta."""

from __future__ import annotations

import itertools
import re

import pytest

from molbridge.data.sources.qm9 import HARTREE_TO_EV, read_qm9
from molbridge.tasks.molecules import with_article
from molbridge.tasks.phrasing import MIN_PHRASINGS, choose, load_phrasings
from tests.conftest import records_of


def qm9_records(molecule, tasks):
    return records_of("qm9", molecule, tasks)


@pytest.fixture(scope="module")
def molecules():
    return list(itertools.islice(read_qm9(), 2000, 2040))


def test_property_prediction_is_mol_instructions_style(molecules):
    m = molecules[0]
    records = list(qm9_records(m, ("property_prediction",)))
    assert [r.meta.extra["property"] for r in records] == ["homo", "lumo", "gap"]
    for r in records:
        assert r.input.startswith("[") and r.output == f"{r.meta.extra['value']:.4f}"
        assert "hartree" in r.instruction.lower() and r.modalities.conformer.atoms == m.atoms
        assert r.meta.source == "qm9" and "CC0" in r.meta.license and r.meta.source_id == str(m.index)


def test_computed_property_answers_carry_units_and_match_the_values(molecules):
    for m in molecules:
        records = {r.meta.extra["property"]: r for r in qm9_records(m, ("computed_property",))}
        assert set(records) == {"mol_weight", "logp", "tpsa", "bertz_complexity", "homo", "lumo", "gap"}
        assert records["gap"].meta.extra["value"] == pytest.approx(m.properties["gap"] * HARTREE_TO_EV, abs=1e-3)
        assert records["gap"].output.endswith(" eV.") and records["mol_weight"].output.endswith(" g/mol.")
        assert records["tpsa"].output.endswith(" Å².") and not records["logp"].output.endswith("unit.")
        for r in records.values():
            number = float(re.findall(r"-?\d+\.\d+", r.output)[-1])
            assert number == pytest.approx(r.meta.extra["value"]) and r.input == r.modalities.smiles
            assert r.output[0].isupper() and " a energy" not in r.output and " a octanol" not in r.output


def test_phrasings_vary_and_are_stable(molecules):
    questions = {r.instruction.split(" the ")[0] for m in molecules
                 for r in qm9_records(m, ("computed_property",))}
    assert len(questions) >= 8
    assert choose(["a", "b", "c"], "id-1") == choose(["a", "b", "c"], "id-1")
    data = load_phrasings("properties")
    assert all(len(data[k]) >= MIN_PHRASINGS for k in data if "question" in k)


def test_articles():
    assert with_article("energy gap") == "an energy gap" and with_article("HOMO energy") == "a HOMO energy"

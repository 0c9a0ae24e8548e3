"""The record schema: typed payloads, validation errors that name the record and field."""

from __future__ import annotations

import pytest

from molbridge.records import Conformer, Record, RecordError, make_record

META = {"source": "test", "license": "CC0"}


def test_a_full_record_round_trips_through_its_dict_form():
    record = make_record(id="r1", task="homo", instruction="What is the HOMO of <mol>?", output="-7.2 eV",
                         modalities={"smiles": "C", "conformer": {"atoms": ["C", "H", "H", "H", "H"],
                                                                  "coords": [[0, 0, 0]] + [[1, 0, 0]] * 4},
                                     "protein_sequence": "MKV", "protein_coords": [[0, 0, 0]] * 3},
                         meta={**META, "extra": {"qm9_index": 1}})
    assert isinstance(record.modalities.conformer, Conformer)
    assert Record.model_validate(record.model_dump()) == record
    assert Record.model_validate_json(record.model_dump_json()) == record


@pytest.mark.parametrize("fields, message", [
    ({"task": "x"}, "id"),
    ({"id": "r2", "task": ""}, "task"),
    ({"id": "r3", "task": "x", "modalities": {"protein_sequence": "MKV1"}}, "amino-acid"),
    ({"id": "r4", "task": "x", "modalities": {"conformer": {"atoms": ["C"], "coords": []}}}, "1 atoms but 0"),
    ({"id": "r5", "task": "x", "modalities": {"protein_sequence": "MK", "protein_coords": [[0, 0, 0]]}},
     "1 residue coordinates"),
    ({"id": "r6", "task": "x", "modalities": {"smile": "C"}}, "smile"),
])
def test_schema_violations_name_the_record_and_the_field(fields, message):
    with pytest.raises(RecordError) as err:
        make_record(meta=META, **fields)
    assert message in str(err.value) and repr(fields.get("id", "?")) in str(err.value)


def test_missing_provenance_is_refused():
    with pytest.raises(RecordError, match="meta"):
        make_record(id="r7", task="x")

"""Quality control: every rule drops with its reason, flags are counted, good records survive, chunks = one pass."""

from __future__ import annotations

import json

import pytest

from molbridge.data.qc import QCConfig, QCConfigError, QualityControl
from molbridge.records import make_record

META = {"source": "test"}


def rec(rid, smiles=None, task="t", prop=None, caption=None, protein=None):
    return make_record(id=rid, task=task, modalities={"smiles": smiles, "caption": caption,
                                                      "protein_sequence": protein},
                       meta={**META, "extra": {"property": prop} if prop else {}})


RECORDS = [
    rec("ok", "CCO"), rec("invalid", "C1CC"), rec("metal", "[Na+].[Cl-]"), rec("big", "C" * 200),
    rec("charged", "[NH4+].[NH4+].[NH4+]"), rec("dup", "OCC"), rec("other-task", "CCO", task="u"),
    rec("other-property", "CCO", prop="logp"), rec("l-ala", "C[C@H](N)C(=O)O"), rec("d-ala", "C[C@@H](N)C(=O)O"),
    rec("short-protein", protein="MKV"), rec("protein", protein="M" + "A" * 40),
    rec("short-caption", "c1ccccc1", caption="Benzene."),
    rec("boilerplate", "c1ccccc1C", caption="The molecule is a natural product found in Streptomyces with data."),
]


def test_each_rule_drops_with_its_reason():
    qc = QualityControl()
    kept = [r.id for r in qc.filter(RECORDS)]
    assert kept == ["ok", "other-task", "other-property", "l-ala", "protein", "short-caption", "boilerplate"]
    assert dict(qc.report.dropped) == {"invalid_molecule": 1, "element": 1, "too_large": 1, "charge": 1,
                                       "duplicate": 1, "near_duplicate": 1, "protein_length": 1}
    assert dict(qc.report.flagged) == {"short_caption": 1, "boilerplate_caption": 1}
    assert qc.report.seen == len(RECORDS) and qc.report.kept == len(kept)
    assert qc.report.examples["duplicate"] == ["dup"]


def test_near_duplicates_can_be_flagged_or_kept_and_dedup_by_canonical_smiles():
    flag = QualityControl(QCConfig(near_duplicates="flag"))
    assert [r.id for r in flag.filter(RECORDS[8:10])] == ["l-ala", "d-ala"]
    assert flag.report.flagged["near_duplicate"] == 1
    canonical = QualityControl(QCConfig(dedup_key="canonical", near_duplicates="keep"))
    assert len(canonical.filter([rec("a", "CCO"), rec("b", "OCC"), rec("c", "[2H]OCC")])) == 2


def test_chunked_filtering_equals_one_pass_and_a_journal_resumes():
    whole = QualityControl()
    expected = [r.id for r in whole.filter(RECORDS)]
    first = QualityControl()
    ids = [r.id for r in first.filter(RECORDS[:5])]
    journal = [first.take_new_keys()]
    ids += [r.id for r in first.filter(RECORDS[5:7])]
    journal.append(first.take_new_keys())
    resumed = QualityControl()
    resumed.restore(json.loads(json.dumps(first.report.to_dict())), json.loads(json.dumps(journal)))
    ids += [r.id for r in resumed.filter(RECORDS[7:])]
    assert ids == expected and resumed.report.to_dict() == whole.report.to_dict()
    assert first.take_new_keys() == {"exact": [], "near": []}


def test_bad_settings():
    with pytest.raises(QCConfigError):
        QCConfig(min_heavy_atoms=10, max_heavy_atoms=5)
    with pytest.raises(QCConfigError):
        QCConfig(near_duplicates="maybe")

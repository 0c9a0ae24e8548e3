"""A served world for the API and browser tests: a tiny trained ChEBI-20 run, a fingerprint and a BM25 index over
real ChEBI-20 rows, and a built dataset's card."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_models import chebi20_tiny


@pytest.fixture(scope="session")
def served_files(tmp_path_factory, tiny_llama) -> dict[str, Path]:
    import yaml

    from molbridge.data.formats.chebi20_tables import records_from_chebi20
    from molbridge.retrieval.bm25 import BM25Index
    from molbridge.retrieval.fingerprint_index import FingerprintIndex
    from molbridge.train.config import load_train_config
    from molbridge.train.loop import train

    root = tmp_path_factory.mktemp("served")
    rows = chebi20_tiny(root, 24)
    config = root / "run.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "sft", "max_steps": 1, "batch_size": 2, "save_every": 1, "eval_every": 0,
        "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
        "data": {"train": str(rows), "tasks": ["mol2text", "text2mol"]}}))
    train(load_train_config(config, out=str(root / "run")))
    records = records_from_chebi20(rows)
    ids = [r.meta.source_id or r.id for r in records]
    fingerprints, failed = FingerprintIndex.from_smiles(ids, [r.modalities.smiles or "" for r in records])
    assert not failed
    fingerprints.save(root / "molecules.fpindex")
    BM25Index.build(ids, [r.modalities.caption or "" for r in records]).save(root / "captions")
    dataset = root / "dataset"
    dataset.mkdir()
    (dataset / "card.json").write_text('{"name": "tiny", "records": 3}')
    return {"run": root / "run", "molecules": root / "molecules.fpindex", "captions": root / "captions",
            "dataset": dataset, "rows": rows}

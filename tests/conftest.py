"""Fixtures shared by all tests: where ../shared/data is (read in place, never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MOLBRIDGE_SHARED", REPO.parent / "shared")) / "data"
SCIBERT_DIR = SHARED_DATA / "tokenizers" / "scibert_scivocab_uncased"
EXAMPLES = REPO / "examples"


def require(path: Path) -> Path:
    """`path`, or skip the test saying what is missing (only ../shared may be absent)."""
    if not path.exists():
        pytest.skip(f"{path} not found: tests on ../shared data need the shared folder beside the repo")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require(SHARED_DATA)


@pytest.fixture(scope="session")
def scibert_dir() -> str:
    return str(require(SCIBERT_DIR))


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    """One tiny real model per session (SmolLM2's tokenizer), so every training test takes seconds."""
    from tests.tiny_models import make_tiny_llama

    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from threads, whose OpenMP spinning costs seconds on a busy 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def records_of(kind: str, item, tasks, **options) -> list:
    """The records a build writes for one item of source `kind` (the build's own code path)."""
    from molbridge.data.build.units import item_records
    from molbridge.tasks import SOURCES

    source = SOURCES.get(kind)
    records, failed, _ = item_records(source, source.options(kind=kind, tasks=list(tasks), **options), item)
    assert not failed, failed
    return records


def chebi_record(cid: str, smiles: str, caption: str, raw: str | None = None):
    """A ChEBI-20 row as `records_from_chebi20` reads it (`raw`: the table's text where it differs)."""
    from molbridge.records import make_record

    return make_record(id=f"chebi20:{cid}", task="mol_caption", modalities={"smiles": smiles, "caption": caption},
                       meta={"source": "chebi20", "source_id": cid, "extra": {"smiles_raw": raw} if raw else {}})


@pytest.fixture(scope="session")
def multimodal_dataset(tmp_path_factory) -> Path:
    """One small built dataset with conformers and captions per session (see tests.tiny_models)."""
    from tests.tiny_models import build_multimodal_dataset

    return build_multimodal_dataset(tmp_path_factory.mktemp("multimodal"))

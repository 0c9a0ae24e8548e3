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


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from threads, whose OpenMP spinning costs seconds on a busy 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

"""RDKit's log reaches Python logging, is captured per block, and nothing is globally silenced."""

from __future__ import annotations

import logging
import threading

import pytest
from rdkit import Chem

import molbridge.chem  # noqa: F401  (import enables the routing)
from molbridge.chem import capture_rdkit_messages, enable_python_logging


@pytest.fixture
def rdkit_caplog(caplog: pytest.LogCaptureFixture):
    """RDKit sets propagate=False on its logger; pytest>=9 attaches caplog to such loggers, older
    versions do not, so attach it explicitly (addHandler ignores a handler already present)."""
    logger = logging.getLogger("rdkit")
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


def test_parse_error_reaches_python_logging(rdkit_caplog: pytest.LogCaptureFixture) -> None:
    assert Chem.MolFromSmiles("C1CC") is None
    records = [r for r in rdkit_caplog.records if r.name == "rdkit"]
    assert any("unclosed ring" in r.getMessage() for r in records)
    assert all(r.levelno == logging.ERROR for r in records)


def test_rdkit_logs_are_not_disabled() -> None:
    logger = logging.getLogger("rdkit")
    assert not logger.disabled
    assert logger.isEnabledFor(logging.ERROR)
    assert logger.isEnabledFor(logging.WARNING)


def test_enable_is_idempotent(rdkit_caplog: pytest.LogCaptureFixture) -> None:
    enable_python_logging()
    enable_python_logging()
    Chem.MolFromSmiles("CC(")
    first = [r.getMessage() for r in rdkit_caplog.records if "syntax error" in r.getMessage()]
    assert len(first) == 1  # routed once, not duplicated


def test_capture_collects_messages_without_timestamps() -> None:
    with capture_rdkit_messages() as messages:
        Chem.MolFromSmiles("C1CC")
    assert messages and messages[0].startswith("SMILES Parse Error: unclosed ring")
    with capture_rdkit_messages() as quiet:
        Chem.MolFromSmiles("CCO")
    assert quiet == []


def test_capture_nests_and_other_handlers_still_receive(rdkit_caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("rdkit")
    handlers_before = list(logger.handlers)
    with capture_rdkit_messages() as outer:
        Chem.MolFromSmiles("C1CC")
        with capture_rdkit_messages() as inner:
            Chem.MolFromSmiles("N(C)(C)(C)(C)C")
        Chem.MolFromSmiles("CC)C")
    assert logger.handlers == handlers_before
    assert any("valence" in m for m in inner) and not any("unclosed" in m for m in inner)
    assert any("unclosed" in m for m in outer)
    assert any("valence" in m for m in outer)
    assert any("extra close parentheses" in m for m in outer)
    logged = [r.getMessage() for r in rdkit_caplog.records]
    assert any("unclosed ring" in m for m in logged)
    assert any("valence" in m for m in logged)
    assert any("extra close parentheses" in m for m in logged)


def test_capture_ignores_other_threads() -> None:
    with capture_rdkit_messages() as messages:
        worker = threading.Thread(target=Chem.MolFromSmiles, args=("C1CC",))
        worker.start()
        worker.join()
    assert not any("unclosed ring" in m for m in messages)


def test_handler_removed_after_exception() -> None:
    logger = logging.getLogger("rdkit")
    handlers_before = list(logger.handlers)
    with pytest.raises(RuntimeError), capture_rdkit_messages():
        raise RuntimeError("boom")
    assert logger.handlers == handlers_before

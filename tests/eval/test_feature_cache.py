"""The references' feature cache: a hit scores exactly as a cold run, a change is a miss, damage is a warning."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from molbridge.eval.conventions import get_convention
from molbridge.eval.feature_cache import CACHE_ENV, ReferenceCache, default_directory
from molbridge.eval.mol_metrics import score_text2mol

MOLT5 = get_convention("molt5")
REFS = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "OC(=O)CCC(=O)O", "C1CC", "", "CCCl"]
OUTS = ["OCC", "c1ccccc1N", "", "CCN(CC)C", "C1CC", "CCO", "CCC", None]


def _score(directory: Path | bool, refs: list[str] = REFS, outs: list[str | None] = OUTS, workers: int = 1):
    report = score_text2mol(refs, outs, MOLT5, workers=workers, feature_cache=directory)
    return report.values(), report.counts


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.npz"))


def test_cold_and_warm_runs_equal_an_uncached_run(tmp_path: Path) -> None:
    uncached = _score(False)
    assert _score(tmp_path) == uncached  # cold: computes, then stores
    (stored,) = _files(tmp_path)
    assert _score(tmp_path) == uncached  # warm: reads
    assert _score(tmp_path, workers=2) == uncached
    assert _files(tmp_path) == [stored]


def test_a_hit_is_read_from_the_file(tmp_path: Path) -> None:
    """Doctor one stored fingerprint: the warm score shows it, so the references really came from the file."""
    uncached = _score(False)
    _score(tmp_path)
    cache = ReferenceCache.of(tmp_path, [r for r in REFS if r], MOLT5.morgan_radius)
    molecules = cache.load()
    ethanol = molecules["CCO"]
    assert ethanol.fingerprints is not None
    doctored = replace(ethanol.fingerprints, maccs=np.zeros_like(ethanol.fingerprints.maccs))
    cache.save({**molecules, "CCO": replace(ethanol, fingerprints=doctored)})
    assert _score(tmp_path)[0]["maccs_fts"] < uncached[0]["maccs_fts"]


def test_other_references_are_a_miss(tmp_path: Path) -> None:
    _score(tmp_path)
    changed = [*REFS[:-1], "CCBr"]
    assert _score(tmp_path, refs=changed) == _score(False, refs=changed)
    assert len(_files(tmp_path)) == 2


def test_a_later_run_adds_what_it_needs(tmp_path: Path) -> None:
    """A first run with invalid outputs parses the references only; a second one fingerprints them, stored too."""
    first = [*["C1CC"] * (len(REFS) - 1), "OCC"]  # only the last pair is valid on both sides
    assert _score(tmp_path, outs=first) == _score(False, outs=first)
    (path,) = _files(tmp_path)
    cache = ReferenceCache.of(tmp_path, [r for r in REFS if r], MOLT5.morgan_radius)
    assert [s for s, m in cache.load().items() if m.fingerprints] == ["CCCl"]
    assert _score(tmp_path) == _score(False)
    assert sum(m.fingerprints is not None for m in cache.load().values()) == 5  # CCCl and 4 refs of valid pairs
    assert _files(tmp_path) == [path]


@pytest.mark.parametrize("damage", [b"not a zip file", b""])
def test_a_corrupt_file_is_recomputed_with_a_warning(tmp_path: Path, damage: bytes) -> None:
    uncached = _score(False)
    _score(tmp_path)
    (path,) = _files(tmp_path)
    path.write_bytes(damage)
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert _score(tmp_path) == uncached
    assert _score(tmp_path) == uncached  # rewritten: readable again, no warning needed


def test_a_truncated_file_is_recomputed_with_a_warning(tmp_path: Path) -> None:
    uncached = _score(False)
    _score(tmp_path)
    (path,) = _files(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert _score(tmp_path) == uncached


def test_an_unwritable_directory_is_a_warning(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.warns(RuntimeWarning, match="could not write"):
        assert _score(blocked) == _score(False)


def test_the_environment_moves_or_disables_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "features"))
    assert default_directory() == tmp_path / "features"
    assert _score(True) == _score(False)
    assert len(_files(tmp_path / "features")) == 1
    monkeypatch.setenv(CACHE_ENV, "off")
    assert default_directory() is None


def test_a_string_fingerprinted_in_one_chunk_only(tmp_path: Path) -> None:
    """Chunks are scored apart: an output paired with an invalid reference in one chunk and a valid one in
    another is fingerprinted by the second only, and the pair scores as without workers."""
    refs = ["CCO"] * 150 + ["C1CC"] * 150
    outs = ["c1ccccc1O"] * 300
    assert _score(tmp_path, refs=refs, outs=outs, workers=2) == _score(False, refs=refs, outs=outs, workers=1)


def test_fcd_after_a_run_without_it(tmp_path: Path) -> None:
    """Canonical SMILES are computed (and stored) only once FCD asks for them; a cache filled without is topped up."""
    _score(tmp_path)
    cache = ReferenceCache.of(tmp_path, [r for r in REFS if r], MOLT5.morgan_radius)
    assert all(m.canonical is None for m in cache.load().values())
    fcd = [score_text2mol(REFS, OUTS, MOLT5, fcd=True, workers=1, feature_cache=cache_or_not).values()
           for cache_or_not in (tmp_path, False)]
    assert fcd[0] == fcd[1]
    assert all(m.canonical is not None for m in cache.load().values() if m.valid)

"""The fingerprint index against RDKit's BulkTanimotoSimilarity and a brute-force top-k."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import DataStructs

from molbridge.chem import to_mol
from molbridge.errors import InvalidMolecule, MolbridgeError
from molbridge.retrieval.fingerprint_index import (
    MAGIC,
    FingerprintIndex,
    FingerprintSpec,
    IndexFileError,
    IndexInputError,
    pack_bitvects,
)
from tests.conftest import SHARED_DATA, require

POOL, QUERIES = 500, 40


@pytest.fixture(scope="module")
def chebi() -> list[tuple[str, str]]:
    path = require(SHARED_DATA / "chebi20" / "validation.txt")
    with open(path, newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(row["CID"], row["SMILES"]) for row in itertools.islice(rows, POOL + QUERIES)]


def brute_force(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the top-k by score, ties by lower index."""
    return np.lexsort((np.arange(len(scores)), -scores))[:k]


@pytest.mark.parametrize("kind", ["morgan", "maccs", "rdk"])
def test_scores_equal_rdkit_bulk_tanimoto_on_chebi(chebi, kind):
    ids, smiles = zip(*chebi[:POOL])
    index, failed = FingerprintIndex.from_smiles(ids, smiles, kind=kind)
    assert failed == [] and len(index) == POOL
    spec = index.spec
    pool_fps = [spec.featurize(to_mol(s)) for s in smiles]
    query_fps = [spec.featurize(to_mol(s)) for _, s in chebi[POOL:]]
    scores, indices = index.search(query_fps, POOL)
    for q, fp in enumerate(query_fps):
        expected = np.array(DataStructs.BulkTanimotoSimilarity(fp, pool_fps))
        np.testing.assert_array_equal(indices[q], brute_force(expected, POOL))
        np.testing.assert_allclose(scores[q], expected[indices[q]], rtol=0, atol=1e-12)
        assert np.array_equal(scores[q], expected[indices[q]])  # in fact bit-identical


def test_top_k_of_query_smiles_matches_rdkit_top_10(chebi):
    ids, smiles = zip(*chebi[:POOL])
    index, _ = FingerprintIndex.from_smiles(ids, smiles, radius=3, n_bits=1024)
    assert index.spec == FingerprintSpec("morgan", 3, 1024)
    pool_fps = [index.spec.featurize(to_mol(s)) for s in smiles]
    scores, indices = index.query_smiles([s for _, s in chebi[POOL:]], 10)
    for q, (_, s) in enumerate(chebi[POOL:]):
        expected = np.array(DataStructs.BulkTanimotoSimilarity(index.spec.featurize(to_mol(s)), pool_fps))
        assert indices[q].tolist() == brute_force(expected, 10).tolist()
        assert scores[q].tolist() == expected[indices[q]].tolist()


def random_index(draw, n_bits: int) -> tuple[FingerprintIndex, np.ndarray]:
    """A pool drawn from few distinct bit patterns, so equal scores are common."""
    words = (n_bits + 63) // 64
    n = draw(st.integers(1, 40))
    density = draw(st.sampled_from([0.0, 0.05, 0.3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bits = rng.random((draw(st.integers(1, 6)), words * 64)) < density
    bits[:, n_bits:] = False
    patterns = np.packbits(bits, axis=1, bitorder="little").view("<u8").astype(np.uint64)
    rows = patterns[rng.integers(0, len(patterns), n)]
    return FingerprintIndex([f"m{i}" for i in range(n)], rows, FingerprintSpec.make("morgan", 2, n_bits)), patterns


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_top_k_equals_brute_force_argsort_with_ties(data):
    n_bits = data.draw(st.sampled_from([64, 100, 167, 256]))
    index, patterns = random_index(data.draw, n_bits)
    nq = data.draw(st.integers(1, 11))  # covers the 4-query blocks and the remainder
    queries = patterns[np.random.default_rng(nq).integers(0, len(patterns), nq)]
    k = data.draw(st.integers(1, len(index) + 3))
    excluded = [data.draw(st.lists(st.sampled_from([*index.ids, "absent"]), max_size=3)) for _ in range(nq)]
    parallel = data.draw(st.booleans())
    scores, indices = index.search(queries, k, exclude_ids=excluded, parallel=parallel)

    pool_pop = np.bitwise_count(index.packed).sum(1)
    for q in range(nq):
        common = np.bitwise_count(index.packed & queries[q]).sum(1)
        union = pool_pop + np.bitwise_count(queries[q]).sum() - common
        exact = np.where(union > 0, common / np.maximum(union, 1), 0.0)
        keep = np.array([i not in excluded[q] for i in index.ids])
        order = [i for i in brute_force(exact, len(index)) if keep[i]][:k]
        padded = order + [-1] * (k - len(order))
        assert indices[q].tolist() == padded
        assert scores[q, : len(order)].tolist() == exact[order].tolist()
        assert np.isnan(scores[q, len(order):]).all()


def test_k_larger_than_pool_pads_with_minus_one_and_nan(chebi):
    index, _ = FingerprintIndex.from_smiles(["a", "b"], [chebi[0][1], chebi[1][1]])
    scores, indices = index.query_smiles([chebi[0][1]], 5)
    assert scores.shape == indices.shape == (1, 5)
    assert indices[0].tolist() == [0, 1, -1, -1, -1]
    assert scores[0, 0] == 1.0 and np.isnan(scores[0, 2:]).all()
    with pytest.raises(IndexInputError, match="positive integer"):
        index.query_smiles([chebi[0][1]], 0)


def test_empty_fingerprints_score_zero_like_rdkit():
    empty = DataStructs.ExplicitBitVect(2048)
    index = FingerprintIndex.from_bitvects(["e"], [empty])
    scores, indices = index.search(empty, 1)
    assert scores.tolist() == [[DataStructs.TanimotoSimilarity(empty, empty)]] == [[0.0]]
    assert indices.tolist() == [[0]]


def test_invalid_pool_molecules_are_reported_not_indexed():
    ids = ["ok", "syntax", "valence", "chebi"]
    smiles = ["CCO", "C1CC", "C(C)(C)(C)(C)C", "C/C=C\\\\C"]  # the last with ChEBI's doubled backslash
    index, failed = FingerprintIndex.from_smiles(ids, smiles)
    assert index.ids == ["ok", "chebi"]
    assert [i for i, _ in failed] == ["syntax", "valence"]
    assert failed[1][1].startswith("AtomValenceException")


def test_empty_pool_cannot_be_searched():
    index, failed = FingerprintIndex.from_smiles(["x"], ["not a molecule"])
    assert len(index) == 0 and failed[0][0] == "x"
    with pytest.raises(IndexInputError, match="empty index"):
        index.query_smiles(["CCO"], 3)


def test_invalid_query_molecule_raises_naming_it():
    index, _ = FingerprintIndex.from_smiles(["a"], ["CCO"])
    with pytest.raises(InvalidMolecule, match="C1CC"):
        index.query_smiles(["CCN", "C1CC"], 1)


def test_duplicate_ids_are_refused_naming_the_duplicate():
    with pytest.raises(IndexInputError, match="duplicate id 'b'"):
        FingerprintIndex.from_smiles(["a", "b", "b"], ["C", "CC", "CCC"])
    fp = DataStructs.ExplicitBitVect(167)
    with pytest.raises(MolbridgeError, match="duplicate id 'x'"):
        FingerprintIndex.from_bitvects(["x", "x"], [fp, fp], kind="maccs")


def test_spec_and_width_errors():
    with pytest.raises(IndexInputError, match="unknown fingerprint kind"):
        FingerprintSpec.make("ecfp")
    with pytest.raises(IndexInputError, match="exactly 167 bits"):
        FingerprintSpec.make("maccs", n_bits=2048)
    index, _ = FingerprintIndex.from_smiles(["a"], ["CCO"], kind="maccs")
    with pytest.raises(IndexInputError, match="167 bits, got 2048"):
        index.search(DataStructs.ExplicitBitVect(2048), 1)
    with pytest.raises(IndexInputError, match="beyond bit 167"):
        index.search(np.full(3, np.uint64(2**63)), 1)


def test_self_exclusion_via_query_ids(chebi):
    ids, smiles = zip(*chebi[:50])
    index, _ = FingerprintIndex.from_smiles(ids, smiles)
    _, with_self = index.query_smiles(smiles[:10], 3, query_ids=ids[:10], exclude_self=False)
    assert with_self[:, 0].tolist() == list(range(10))
    _, without = index.query_smiles(smiles[:10], 3, query_ids=ids[:10])
    assert all(q not in row for q, row in enumerate(without.tolist()))
    _, outsider = index.query_smiles(smiles[:1], 1, query_ids=["not-in-pool"])
    assert outsider.tolist() == [[0]]
    with pytest.raises(IndexInputError, match="2 entries for 1 queries"):
        index.search(index.packed[0], 1, exclude_ids=["a", "b"])


def test_search_is_deterministic_serial_or_parallel(chebi):
    ids, smiles = zip(*chebi[:POOL])
    index, _ = FingerprintIndex.from_smiles(ids, smiles, kind="maccs")  # MACCS: many ties
    queries = pack_bitvects([index.spec.featurize(to_mol(s)) for s in smiles[:37]], 167)
    runs = [index.search(queries, 25, parallel=p) for p in (False, True, False, True)]
    for scores, indices in runs[1:]:
        assert np.array_equal(indices, runs[0][1]) and np.array_equal(scores, runs[0][0])


@pytest.fixture
def saved(tmp_path, chebi):
    ids, smiles = zip(*chebi[:60])
    index, _ = FingerprintIndex.from_smiles(ids, smiles, kind="maccs")
    path = tmp_path / "pool.mbfp"
    index.save(path)
    return index, path


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(saved, mmap):
    index, path = saved
    loaded = FingerprintIndex.load(path, mmap=mmap)
    assert loaded.ids == index.ids and loaded.spec == index.spec
    assert np.array_equal(loaded.packed, index.packed) and np.array_equal(loaded.popcounts, index.popcounts)
    assert loaded.packed.flags.writeable is not mmap  # mapped read-only
    expected = index.search(index.packed[:9], 7, exclude_ids=index.ids[:9])
    got = loaded.search(loaded.packed[:9], 7, exclude_ids=loaded.ids[:9])
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(expected, got))
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


def test_empty_index_round_trips(tmp_path):
    path = tmp_path / "empty.mbfp"
    FingerprintIndex([], np.empty((0, 32), np.uint64), FingerprintSpec.make("rdk")).save(path)
    assert len(FingerprintIndex.load(path)) == 0


def corrupt(path, edit) -> None:
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(edit(data)))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d[:-8], "truncated"),
    (lambda d: d[:10], "shorter than the 16-byte prefix"),
    (lambda d: d + b"\0" * 8, "trailing data"),
    (lambda d: d.replace(MAGIC, b"MBFPIDY\n", 1), "not a molbridge fingerprint index"),
    (lambda d: d[:8] + (2).to_bytes(4, "little") + d[12:], "unsupported format version 2"),
    (lambda d: d[:16] + b"}" + d[17:], "corrupt header"),
])
def test_corrupted_files_raise_index_file_error(saved, edit, message):
    _, path = saved
    corrupt(path, edit)
    with pytest.raises(IndexFileError, match=message) as info:
        FingerprintIndex.load(path)
    assert str(path) in str(info.value)


def test_ids_checksum_detects_a_changed_id(saved):
    index, path = saved
    data = path.read_bytes()
    first = index.ids[0].encode()
    changed = first[:-1] + (b"0" if first[-1:] != b"0" else b"1")
    path.write_bytes(data.replace(b'"' + first + b'"', b'"' + changed + b'"', 1))
    with pytest.raises(IndexFileError, match="checksum mismatch"):
        FingerprintIndex.load(path)

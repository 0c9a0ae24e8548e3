"""DenseIndex against a numpy brute force: order, ties, exclusions, padding, HNSW recall, files."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from molbridge.errors import MolbridgeError
from molbridge.retrieval.dense_index import IDS_FILE, INDEX_FILE, META_FILE, DenseIndex
from molbridge.retrieval.fingerprint_index import IndexFileError, IndexInputError


def ids_for(n: int) -> list[str]:
    return [f"v{i}" for i in range(n)]


def brute_force(pool: np.ndarray, queries: np.ndarray, k: int, metric: str,
                excluded: list[set[int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """float64 scores and top-k by (-score, index), -1 / NaN padded."""
    pool, queries = pool.astype(np.float64), queries.astype(np.float64)
    if metric == "cosine":
        pool = pool / np.linalg.norm(pool, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    all_scores = queries @ pool.T
    scores, indices = np.full((len(queries), k), np.nan), np.full((len(queries), k), -1)
    for q, row in enumerate(all_scores):
        order = [i for i in np.lexsort((np.arange(len(row)), -row)) if not excluded or i not in excluded[q]][:k]
        indices[q, : len(order)], scores[q, : len(order)] = order, row[order]
    return scores, indices


@pytest.mark.parametrize("metric", ["cosine", "ip"])
@pytest.mark.parametrize("nq", [1, 7, 60])  # faiss scans one query at a time below 20, with BLAS above
def test_flat_search_equals_numpy_brute_force(metric, nq):
    rng = np.random.default_rng(nq)
    pool = rng.standard_normal((800, 24)).astype(np.float32)
    queries = rng.standard_normal((nq, 24)).astype(np.float32)
    index = DenseIndex.build(ids_for(800), pool, metric=metric)
    assert index.dim == 24 and len(index) == 800
    atol = 2e-5 if metric == "cosine" else 1e-4
    for k in (1, 10, 800):
        scores, indices = index.search(queries, k)
        want_s, want_i = brute_force(pool, queries, k, metric)
        assert scores.dtype == np.float64 and indices.dtype == np.int64 and scores.shape == (nq, k)
        np.testing.assert_allclose(scores, want_s, rtol=0, atol=atol)
        if k <= 10:
            np.testing.assert_array_equal(indices, want_i)
        else:  # a full ranking: float32 and float64 may swap rows whose scores differ by ~1e-7
            assert (np.sort(indices, axis=1) == np.arange(800)).all()
            assert (np.mean(indices == want_i)) > 0.999
        for q in range(nq):  # the stated order, on the returned scores themselves
            assert np.lexsort((indices[q], -scores[q])).tolist() == list(range(k))


def test_one_dimensional_query_is_one_row():
    rng = np.random.default_rng(3)
    pool = rng.standard_normal((50, 8))
    index = DenseIndex.build(ids_for(50), pool, metric="ip")
    one = index.search(pool[4], 3)
    assert one[1].shape == (1, 3)
    batch = index.search(pool[4:5], 3)
    assert all(np.array_equal(a, b) for a, b in zip(one, batch))


def test_hnsw_recall_at_10_against_flat():
    rng = np.random.default_rng(0)
    pool = rng.standard_normal((5000, 64)).astype(np.float32)
    queries = rng.standard_normal((300, 64)).astype(np.float32)
    flat = DenseIndex.build(ids_for(5000), pool)
    hnsw = DenseIndex.build(ids_for(5000), pool, kind="hnsw")
    _, truth = flat.search(queries, 10)
    scores, found = hnsw.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth.tolist(), found.tolist())])
    assert recall >= 0.95
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_hnsw_built_on_one_thread_is_reproducible():
    rng = np.random.default_rng(5)
    pool, queries = rng.standard_normal((2000, 16)), rng.standard_normal((50, 16))
    runs = [DenseIndex.build(ids_for(2000), pool, kind="hnsw", hnsw_m=8, ef_search=16, threads=1).search(queries, 5)
            for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
@pytest.mark.parametrize("nq", [1, 30])
def test_ties_go_to_the_lower_index_even_across_the_fetch_boundary(kind, nq):
    rng = np.random.default_rng(1)
    pool = np.repeat(rng.standard_normal((3, 6)), [40, 200, 40], axis=0)  # rows 40..239 identical
    rng.shuffle(pool[:40])
    index = DenseIndex.build(ids_for(len(pool)), pool, kind=kind)
    queries = np.repeat(pool[40:41], nq, axis=0)
    scores, indices = index.search(queries, 5)
    assert len(set(scores.ravel().tolist())) == 1
    if kind == "hnsw":  # approximate: which tied rows it reaches varies; those it returns are in order
        assert all(row == sorted(row) and min(row) >= 40 for row in indices.tolist())
    else:
        assert indices.tolist() == [[40, 41, 42, 43, 44]] * nq
        # k beyond the 16-row margin, and exclusions inside the tied block
        _, indices = index.search(queries, 60, exclude_ids=[[f"v{i}" for i in range(40, 80, 2)]] * nq)
        assert indices.tolist() == [list(range(41, 80, 2)) + list(range(80, 120))] * nq


def test_exclude_ids_skips_rows_and_never_costs_results():
    rng = np.random.default_rng(2)
    pool = rng.standard_normal((30, 5))
    index = DenseIndex.build(ids_for(30), pool)
    _, with_self = index.search(pool[:10], 3)
    assert with_self[:, 0].tolist() == list(range(10))  # cosine: each row is its own best
    _, without = index.search(pool[:10], 3, exclude_ids=[f"v{i}" for i in range(10)])
    assert all(q not in row for q, row in enumerate(without.tolist()))
    assert without[:, 0].tolist() == with_self[:, 1].tolist()
    excluded = [set(rng.choice(30, size=rng.integers(0, 29), replace=False).tolist()) for _ in range(10)]
    scores, indices = index.search(pool[:10], 30, exclude_ids=[{f"v{i}" for i in e} | {"absent"} for e in excluded])
    want_s, want_i = brute_force(pool, pool[:10], 30, "cosine", excluded)
    np.testing.assert_array_equal(indices, want_i)
    np.testing.assert_allclose(scores, want_s, atol=1e-6)
    _, none_excluded = index.search(pool[:2], 2, exclude_ids=[None, "absent"])
    assert none_excluded[:, 0].tolist() == [0, 1]
    with pytest.raises(IndexInputError, match="2 entries for 1 queries"):
        index.search(pool[0], 1, exclude_ids=["v1", "v2"])
    with pytest.raises(IndexInputError, match="one string for 1 queries"):
        index.search(pool[0], 1, exclude_ids="v1")


def test_k_larger_than_the_pool_pads_with_minus_one_and_nan():
    index = DenseIndex.build(["a", "b"], np.eye(2))
    scores, indices = index.search([1.0, 0.5], 5)
    assert indices.tolist() == [[0, 1, -1, -1, -1]]
    assert scores[0, 0] > scores[0, 1] and np.isnan(scores[0, 2:]).all()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(IndexInputError, match="positive integer"):
            index.search([1.0, 0.0], bad)


@pytest.mark.parametrize(("ids", "vectors", "message"), [
    ([], np.empty((0, 4)), "empty pool"),
    (["a", "b", "a"], np.ones((3, 4)), "duplicate id 'a' \\(positions 0 and 2\\)"),
    (["a", ""], np.ones((2, 4)), "position 1 is ''"),
    (["a", 7], np.ones((2, 4)), "position 1 is 7"),
    (["a", "b"], np.ones((3, 4)), "2 ids for 3 vectors"),
    (["a", "b"], np.array([[1.0, 2.0], [np.nan, 0.0]]), "id 'b': vector has NaN"),
    (["a", "b"], np.array([[np.inf, 2.0], [1.0, 0.0]]), "id 'a': vector has NaN or infinite"),
    (["a"], np.array([[1e39, 1.0]]), "id 'a'.*infinite values \\(as float32\\)"),
    (["a", "b"], np.array([[1.0, 2.0], [0.0, 0.0]]), "id 'b': zero vector"),
    (["a"], np.ones(4), "expected shape \\(n, d\\), got \\(4,\\)"),
    (["a"], np.ones((1, 0)), "expected shape"),
    (["a"], np.array([["x", "y"]]), "expected real numbers"),
])
def test_bad_pools_are_refused_naming_the_problem(ids, vectors, message):
    with pytest.raises(IndexInputError, match=message):
        DenseIndex.build(ids, vectors)


def test_bad_queries_and_settings_are_refused():
    index = DenseIndex.build(["a", "b"], np.eye(3)[:2])
    with pytest.raises(IndexInputError, match="expected shape \\(n, 3\\), got \\(1, 2\\)"):
        index.search(np.ones(2), 1)
    with pytest.raises(IndexInputError, match="query 1: vector has NaN"):
        index.search(np.array([[1.0, 0, 0], [np.nan, 0, 0]]), 1)
    with pytest.raises(IndexInputError, match="query 0: zero vector"):
        index.search(np.zeros(3), 1)
    assert DenseIndex.build(["z"], np.zeros((1, 3)), metric="ip").search(np.zeros(3), 1)[0].tolist() == [[0.0]]
    with pytest.raises(IndexInputError, match="unknown metric 'l2'"):
        DenseIndex.build(["a"], np.ones((1, 3)), metric="l2")
    with pytest.raises(IndexInputError, match="unknown kind 'ivf'"):
        DenseIndex.build(["a"], np.ones((1, 3)), kind="ivf")
    with pytest.raises(IndexInputError, match="hnsw_m must be a positive integer"):
        DenseIndex.build(["a"], np.ones((1, 3)), kind="hnsw", hnsw_m=0)
    with pytest.raises(IndexInputError, match="threads must be"):
        index.search(np.ones(3), 1, threads=0)
    assert issubclass(IndexInputError, MolbridgeError)


def test_threads_setting_is_restored_after_search():
    before = faiss.omp_get_max_threads()
    index = DenseIndex.build(ids_for(100), np.random.default_rng(0).standard_normal((100, 8)), threads=1)
    index.search(np.ones((25, 8)), 3, threads=1)
    assert faiss.omp_get_max_threads() == before


@pytest.fixture(params=["flat", "hnsw"])
def saved(request, tmp_path):
    rng = np.random.default_rng(7)
    index = DenseIndex.build([f"CID {i} é" for i in range(300)], rng.standard_normal((300, 12)), kind=request.param)
    path = index.save(tmp_path / "pool")
    return index, path, rng.standard_normal((20, 12))


def test_save_load_round_trip_gives_identical_results(saved):
    index, path, queries = saved
    loaded = DenseIndex.load(path)
    assert (loaded.ids, loaded.metric, loaded.kind, loaded.dim) == (index.ids, index.metric, index.kind, index.dim)
    exclude = [index.ids[i] for i in range(20)]
    expected = index.search(queries, 15, exclude_ids=exclude)
    got = loaded.search(queries, 15, exclude_ids=exclude)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(expected, got))
    assert sorted(p.name for p in path.iterdir()) == sorted([INDEX_FILE, IDS_FILE, META_FILE])
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


def test_save_replaces_a_saved_index_but_nothing_else(saved):
    _, path, _ = saved
    other = DenseIndex.build(["x", "y"], np.eye(12)[:2], metric="ip")
    other.save(path)
    assert DenseIndex.load(path).ids == ["x", "y"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    (path.parent / "notes").mkdir()
    (path.parent / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(IndexFileError, match="not a saved DenseIndex; refusing"):
        other.save(path.parent / "notes")
    assert (path.parent / "notes" / "keep.txt").read_text() == "mine"


def rewrite_meta(path, **changes) -> None:
    meta = json.loads((path / META_FILE).read_text())
    meta.update(changes)
    (path / META_FILE).write_text(json.dumps(meta))


def fix_crc(path, name: str) -> None:
    import zlib

    meta = json.loads((path / META_FILE).read_text())
    meta["crc32"][name] = zlib.crc32((path / name).read_bytes())
    (path / META_FILE).write_text(json.dumps(meta))


@pytest.mark.parametrize(("damage", "name", "message"), [
    (lambda p: (p / INDEX_FILE).write_bytes((p / INDEX_FILE).read_bytes()[:-40]), INDEX_FILE, "checksum mismatch"),
    (lambda p: rewrite_meta(p, version=2), META_FILE, "unsupported format version 2"),
    (lambda p: (p / IDS_FILE).unlink(), IDS_FILE, "missing"),
    (lambda p: (p / INDEX_FILE).unlink(), INDEX_FILE, "missing"),
    (lambda p: (p / META_FILE).unlink(), META_FILE, "missing"),
    (lambda p: (p / META_FILE).write_text("{not json"), META_FILE, "unreadable JSON"),
    (lambda p: rewrite_meta(p, format="other"), META_FILE, "not a molbridge.dense_index meta file"),
    (lambda p: rewrite_meta(p, n=0, kind="ivf"), META_FILE, "bad or missing kind, n"),
    (lambda p: (p / IDS_FILE).write_text(json.dumps(["a"] * 300)), IDS_FILE, "checksum mismatch"),
])
def test_damaged_files_raise_index_file_error_naming_the_file(saved, damage, name, message):
    _, path, _ = saved
    damage(path)
    with pytest.raises(IndexFileError, match=message) as info:
        DenseIndex.load(path)
    assert info.value.path == str(path / name)


def test_consistent_but_wrong_contents_are_caught(saved):
    index, path, _ = saved
    (path / IDS_FILE).write_text(json.dumps(index.ids[:-1]))
    fix_crc(path, IDS_FILE)
    with pytest.raises(IndexFileError, match="expected a list of 300 ids") as info:
        DenseIndex.load(path)
    assert info.value.path == str(path / IDS_FILE)
    (path / IDS_FILE).write_text(json.dumps([*index.ids[:-1], index.ids[0]]))
    fix_crc(path, IDS_FILE)
    with pytest.raises(IndexFileError, match="duplicate id"):
        DenseIndex.load(path)
    (path / IDS_FILE).write_text(json.dumps(index.ids))
    fix_crc(path, IDS_FILE)
    (path / INDEX_FILE).write_bytes(b"garbage" * 20)
    fix_crc(path, INDEX_FILE)
    with pytest.raises(IndexFileError, match="faiss cannot read it") as info:
        DenseIndex.load(path)
    assert info.value.path == str(path / INDEX_FILE)
    faiss.write_index(DenseIndex.build(["a"], np.ones((1, 12))).index, str(path / INDEX_FILE))
    fix_crc(path, INDEX_FILE)
    with pytest.raises(IndexFileError, match="of 1 x 12 where meta.json says .* 300 x 12"):
        DenseIndex.load(path)
    with pytest.raises(IndexFileError, match="no such index directory"):
        DenseIndex.load(path / "absent")

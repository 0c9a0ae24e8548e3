"""BM25Index on bm25s: ranking, tie order, edge cases, save/load, tokenizers, rank_bm25 agreement."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from molbridge.data.sources.chebi20 import read_chebi20
from molbridge.errors import FileFormatError, MolbridgeError
from molbridge.retrieval.bm25 import META_FILE, BM25Index, BM25IndexError, tokenize_chemical, tokenize_default
from tests.conftest import SHARED_DATA, require

CAPTIONS = {
    "glc": "The molecule is an amino sugar, N-acetyl-D-glucosamine, found in chitin and bacterial cell walls.",
    "leu": "The molecule is a 2-hydroxy monocarboxylic acid, 2-hydroxy-4-methylpentanoic acid, from leucine.",
    "eth": "The molecule is a primary alcohol, ethanol, used as a solvent and found in fermented drinks.",
    "ben": "The molecule is an aromatic hydrocarbon, benzene, a carcinogen and an industrial solvent.",
    "atp": "The molecule is a purine ribonucleoside triphosphate, adenosine 5'-triphosphate, an energy carrier.",
    "chl": "The molecule is a sterol, cholesterol, a component of animal cell membranes.",
}


@pytest.fixture(scope="module")
def index() -> BM25Index:
    return BM25Index.build(list(CAPTIONS), list(CAPTIONS.values()))


def test_paraphrase_retrieves_its_caption_first(index: BM25Index) -> None:
    queries = ["an alcohol solvent made by fermentation: ethanol",
               "membranes of animal cells contain this sterol (cholesterol)",
               "adenosine triphosphate carries energy"]
    scores, top = index.search(queries, 3)
    assert [index.ids[i] for i in top[:, 0]] == ["eth", "chl", "atp"]
    assert scores.dtype == np.float32 and top.dtype == np.int64
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_chebi20_validation_captions_retrieve_themselves() -> None:
    records = read_chebi20(require(SHARED_DATA / "chebi20" / "validation.txt"))[:400]
    texts = [r.description for r in records]
    index = BM25Index.build([r.cid for r in records], texts)
    scores, top = index.search(texts, 1)
    own = np.array([index.scores(t)[i] for i, t in enumerate(texts)])
    assert np.array_equal(scores[:, 0], own)  # the record itself is among the best
    assert np.mean(top[:, 0] == np.arange(len(texts))) > 0.97


def test_chebi20_val_to_test_tied_top1_count() -> None:
    val = read_chebi20(require(SHARED_DATA / "chebi20" / "validation.txt"))
    test = read_chebi20(require(SHARED_DATA / "chebi20" / "test.txt"))
    index = BM25Index.build([r.cid for r in val], [r.description for r in val])
    scores, top = index.search([r.description for r in test], 2)
    assert int(np.sum(scores[:, 0] == scores[:, 1])) == 72  # recorded in the module docstring
    _, again = index.search([r.description for r in test], 1)
    assert np.array_equal(top[:, 0], again[:, 0])


def test_ties_go_to_the_lower_index() -> None:
    texts = ["alpha beta", "gamma delta", "alpha beta", "alpha beta", "epsilon"]
    index = BM25Index.build([f"d{i}" for i in range(5)], texts)
    scores, top = index.search(["alpha beta"], 2)
    assert top.tolist() == [[0, 2]] and scores[0, 0] == scores[0, 1]
    _, top = index.search(["alpha beta"], 5)
    assert top.tolist() == [[0, 2, 3, 1, 4]]  # zero-score documents follow, in corpus order


@settings(max_examples=40, deadline=None)
@given(docs=st.lists(st.lists(st.sampled_from(["aa", "bb", "cc", "dd"]), max_size=4), min_size=1, max_size=12),
       query=st.lists(st.sampled_from(["aa", "bb", "cc", "zz"]), max_size=3), k=st.integers(1, 15))
def test_top_k_is_a_stable_sort_of_all_scores(docs: list[list[str]], query: list[str], k: int) -> None:
    docs[0] = docs[0] or ["aa"]
    index = BM25Index.build([str(i) for i in range(len(docs))], [" ".join(d) for d in docs])
    all_scores = index.scores(" ".join(query))
    expected = np.lexsort((np.arange(len(docs)), -all_scores))[:k]
    scores, top = index.search([" ".join(query)], k)
    assert top[0, : len(expected)].tolist() == expected.tolist()
    assert np.array_equal(scores[0, : len(expected)], all_scores[expected])


def test_bm25s_tie_order_is_available(index: BM25Index) -> None:
    _, mine = index.search(["ethanol solvent"], 6)
    _, theirs = index.search(["ethanol solvent"], 6, ties="bm25s")
    assert sorted(theirs[0].tolist()) == list(range(6)) and theirs[0, 0] == mine[0, 0]


def test_k_larger_than_corpus_pads(index: BM25Index) -> None:
    scores, top = index.search(["benzene"], 9)
    assert top.shape == (1, 9) and top[0, :6].tolist().count(-1) == 0
    assert top[0, 6:].tolist() == [-1, -1, -1] and np.isnan(scores[0, 6:]).all()
    assert index.ids[top[0, 0]] == "ben"


@pytest.mark.parametrize("query", ["", "   ", "zzz qqq", "the of and"])
def test_query_without_known_tokens_scores_zero(index: BM25Index, query: str) -> None:
    scores, top = index.search([query], 3)
    assert scores.tolist() == [[0.0, 0.0, 0.0]] and top.tolist() == [[0, 1, 2]]


def test_exclude_ids(index: BM25Index) -> None:
    q = ["ethanol alcohol solvent", "ethanol alcohol solvent", "ethanol alcohol solvent"]
    _, top = index.search(q, 6, exclude_ids=["eth", {"eth", "ben", "not-an-id"}, None])
    assert index.ids[top[2, 0]] == "eth"
    assert "eth" not in [index.ids[i] for i in top[0] if i >= 0] and top[0, 5] == -1
    assert {index.ids[i] for i in top[1] if i >= 0} == {"glc", "leu", "atp", "chl"}
    assert top[1, 4:].tolist() == [-1, -1]
    with pytest.raises(BM25IndexError, match="2 entries for 3 queries"):
        index.search(q, 1, exclude_ids=["eth", None])


def test_empty_corpus_and_duplicate_ids_are_clear_errors() -> None:
    with pytest.raises(BM25IndexError, match="empty corpus"):
        BM25Index.build([], [])
    with pytest.raises(BM25IndexError, match="no document has a token"):
        BM25Index.build(["a", "b"], ["", "the of"])
    with pytest.raises(BM25IndexError, match="duplicate id 'CID7'"):
        BM25Index.build(["CID1", "CID7", "CID7"], ["x y", "y z", "z w"])
    with pytest.raises(BM25IndexError, match="2 ids for 1 texts"):
        BM25Index.build(["a", "b"], ["text"])
    with pytest.raises(BM25IndexError, match="unknown BM25 method"):
        BM25Index.build(["a"], ["text"], method="okapi")
    with pytest.raises(BM25IndexError, match="unknown tokenizer"):
        BM25Index.build(["a"], ["text"], tokenizer="words")  # type: ignore[arg-type]
    assert issubclass(BM25IndexError, MolbridgeError)


def test_bad_search_arguments(index: BM25Index) -> None:
    with pytest.raises(BM25IndexError, match="positive integer"):
        index.search(["x"], 0)
    with pytest.raises(BM25IndexError, match="ties"):
        index.search(["x"], 1, ties="random")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        index.search("benzene", 1)


@pytest.mark.parametrize(("tokenizer", "method"), [("default", "lucene"), ("chemical", "bm25l")])
def test_save_load_round_trip(tmp_path: Path, tokenizer: str, method: str) -> None:
    built = BM25Index.build(list(CAPTIONS), list(CAPTIONS.values()), tokenizer=tokenizer, k1=1.2, b=0.6,
                            method=method)
    loaded = BM25Index.load(built.save(tmp_path / "idx"))
    assert (loaded.ids, loaded.tokenizer, loaded.k1, loaded.b, loaded.method) == \
        (built.ids, tokenizer, 1.2, 0.6, method)
    queries = ["2-hydroxy-4-methylpentanoic acid", "cell membranes", ""]
    for a, b in zip(built.search(queries, 8), loaded.search(queries, 8)):
        np.testing.assert_array_equal(a, b)


def _saved(tmp_path: Path) -> Path:
    return BM25Index.build(list(CAPTIONS), list(CAPTIONS.values())).save(tmp_path / "idx")


@pytest.mark.parametrize(("damage", "culprit", "match"), [
    (lambda d: (d / META_FILE).unlink(), META_FILE, "missing"),
    (lambda d: (d / META_FILE).write_text("{not json"), META_FILE, "unreadable JSON"),
    (lambda d: (d / "vocab.index.json").write_text("[1, 2"), "vocab.index.json", "unreadable JSON"),
    (lambda d: (d / "data.csc.index.npy").write_bytes(b"\x93NUMPY garbage"), "data.csc.index.npy", "unreadable"),
    (lambda d: (d / "indptr.csc.index.npy").unlink(), "indptr.csc.index.npy", "missing"),
    (lambda d: (d / META_FILE).write_text(json.dumps(
        {**json.loads((d / META_FILE).read_text()), "ids": ["a", "b"]})), "params.index.json", "num_docs 6"),
    (lambda d: np.save(d / "indptr.csc.index.npy", np.array([0, 1])), "indptr.csc.index.npy", "vocabulary"),
])
def test_damaged_index_directory_names_the_file(tmp_path: Path, damage, culprit: str, match: str) -> None:
    directory = _saved(tmp_path)
    damage(directory)
    with pytest.raises(FileFormatError, match=match) as err:
        BM25Index.load(directory)
    assert err.value.path == str(directory / culprit)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such index directory") as err:
        BM25Index.load(tmp_path / "nope")
    assert err.value.path == str(tmp_path / "nope")


@pytest.mark.parametrize(("text", "tokens"), [
    ("(2R,3S)-2-hydroxy-4-methylpentanoic acid", ["(2r,3s)-2-hydroxy-4-methylpentanoic", "acid"]),
    ("a (2R,3S)- isomer", ["(2r,3s)-", "isomer"]),
    ("N-acetyl-D-glucosamine.", ["n-acetyl-d-glucosamine"]),
    ("an inhibitor of (EC 1.1.1.146).", ["inhibitor", "ec", "1.1.1.146"]),
    ("propane-1,2-diol, an alcohol;", ["propane-1,2-diol", "alcohol"]),
    ("adenosine 5'-phosphate).", ["adenosine", "5'-phosphate"]),
    ("[1,1'-biphenyl]-4-ol (from plants)", ["[1,1'-biphenyl]-4-ol", "from", "plants"]),
    ('(S)-lactate) and "quoted"', ["(s)-lactate", "quoted"]),
    ("(e.g. 2'-deoxy", ["e.g", "2'-deoxy"]),
    ("... ; ()", []),
])
def test_chemical_tokenizer(text: str, tokens: list[str]) -> None:
    assert tokenize_chemical(text) == tokens


def test_default_tokenizer_is_bm25s_default() -> None:
    text = "The molecule is (2R,3S)-2-hydroxy-4-methylpentanoic acid, an EC 1.1.1.146 inhibitor."
    assert tokenize_default(text) == ["molecule", "2r", "3s", "hydroxy", "methylpentanoic", "acid", "ec",
                                      "146", "inhibitor"]
    assert tokenize_default(text) == bm25s.tokenize([text], return_ids=False, show_progress=False)[0]


def test_robertson_matches_rank_bm25_okapi_when_no_idf_is_clipped() -> None:
    rank_bm25 = pytest.importorskip("rank_bm25")
    texts = list(CAPTIONS.values())
    index = BM25Index.build(list(CAPTIONS), texts, method="robertson", k1=1.5, b=0.75)
    okapi = rank_bm25.BM25Okapi([tokenize_default(t) for t in texts], k1=1.5, b=0.75)
    for query in ["solvent found in cell", "acid from leucine", "energy carrier adenosine"]:
        tokens = tokenize_default(query)
        # bm25s's Robertson term weight drops the constant (k1 + 1) factor of rank_bm25's
        np.testing.assert_allclose(index.scores(query) * 2.5, okapi.get_scores(tokens), rtol=1e-5)

r"""BM25 caption retrieval on `bm25s`: external ids, stated tie order, k > n, save/load.

Scoring is bm25s's own (its sparse index and `get_scores_from_ids`); this module adds what a
baseline needs around it. The build defaults (Lucene BM25, k1 1.5, b 0.75, tokenizer "default")
are the setting of the reference copy baseline (REFERENCE.md C, ChEBI-20 validation → test); it
gives all seven reference numbers with `search(..., ties="bm25s")` on an AVX-512 numpy build and
BLEU .6880 / Levenshtein 37.95 / MACCS .6743 / RDK .5488 / Morgan .4279 with the default ties.

Tokenizers (both lowercase and drop bm25s's 33-word English stopword list, Lucene's):
- "default": exactly `bm25s.tokenize`'s defaults, i.e. regex ``(?u)\b\w\w+\b`` (runs of two or
  more word characters), stopwords "english", no stemmer. Chemical names fall apart:
  "(2R,3S)-2-hydroxy" → ["2r", "3s", "hydroxy"]; one-character locants vanish.
- "chemical": split on whitespace, then trim each token's ends: trailing ``, . ; : ! ? "``,
  leading ``"``, and a bracket at either end only when it has no partner inside the token.
  Hyphens, primes, internal commas/dots and balanced brackets stay:
  "(2R,3S)-" → "(2r,3s)-", "1,2-diol," → "1,2-diol", "N-acetyl-D-glucosamine" →
  "n-acetyl-d-glucosamine", "5'-phosphate)." → "5'-phosphate", "(EC 1.1.1.146)" →
  ["ec", "1.1.1.146"] (the EC number stays one token), "[1,1'-biphenyl]-4-ol" unchanged.
  Tokens left without a letter or digit ("--", "()") are dropped.

Ties: bm25s's top-k (`np.argpartition` then `np.argsort`) orders equal scores however numpy's
SIMD selection kernel leaves them. On ChEBI-20 val → test 72 of 3,300 queries have a tied
top-1, and that order differs between AVX-512, AVX2 and baseline numpy builds. `ties="lowest"`
(default) puts equal scores in corpus order on every machine; `ties="bm25s"` keeps bm25s's
order, to reproduce numbers that were made with it.

`search` returns (scores (q, k) float32, indices (q, k) int64), best first. Documents sharing no
term with the query score 0 and still fill the list; when fewer than k documents are available
(k > corpus size, or exclusions) the row is padded with index -1 and score NaN.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Literal, TypeGuard

import bm25s
import numpy as np
from bm25s.selection import topk as bm25s_topk
from bm25s.stopwords import STOPWORDS_EN

from molbridge.atomic import atomic_directory
from molbridge.errors import FileFormatError, MolbridgeError

# bm25s sets its logger to DEBUG when imported, so every index build printed "Building index from tokens" past the
# command line's WARNING level: its records follow the application's levels like every other library's
logging.getLogger("bm25s").setLevel(logging.NOTSET)

TokenizerName = Literal["default", "chemical"]
TieRule = Literal["lowest", "bm25s"]
METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")  # bm25s's variants
META_FILE = "molbridge_bm25.json"
FORMAT = "molbridge.bm25/1"
_BM25S_NPY = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")
_BM25S_JSON = ("vocab.index.json", "params.index.json")
_STOPWORDS = frozenset(STOPWORDS_EN)
_TRAIL = ',.;:!?"'
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _BRACKETS.items()}


class BM25IndexError(MolbridgeError, ValueError):
    """A BM25 index that cannot be built or queried as asked (empty corpus, duplicate id, bad k)."""


def _is_tie_rule(ties: object) -> TypeGuard[TieRule]:
    return ties in ("lowest", "bm25s")


def check_ties(ties: str) -> TieRule:
    """`ties` as a TieRule; BM25IndexError if it is not one."""
    if not _is_tie_rule(ties):
        raise BM25IndexError(f"ties must be 'lowest' or 'bm25s', got {ties!r}")
    return ties


def tokenize_default(text: str) -> list[str]:
    """bm25s's default tokenization, called through bm25s so it follows that library."""
    return bm25s.tokenize(text, return_ids=False, show_progress=False)[0]


def tokenize_chemical(text: str) -> list[str]:
    """Whitespace tokens with sentence punctuation trimmed, so chemical names stay whole."""
    out = []
    for raw in text.lower().split():
        token = _trim(raw)
        if any(c.isalnum() for c in token) and token not in _STOPWORDS:
            out.append(token)
    return out


def _trim(token: str) -> str:
    while token:
        first, last = token[0], token[-1]
        if last in _TRAIL:
            token = token[:-1]
        elif first == '"':
            token = token[1:]
        elif last in _CLOSERS and token.count(last) > token.count(_CLOSERS[last]):
            token = token[:-1]
        elif first in _BRACKETS and token.count(first) > token.count(_BRACKETS[first]):
            token = token[1:]
        else:
            break
    return token


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {"default": tokenize_default, "chemical": tokenize_chemical}


class BM25Index:
    """A bm25s index over texts known by string ids; build with `build`, reopen with `load`."""

    def __init__(self, ids: Sequence[str], tokenizer: str, model: bm25s.BM25) -> None:
        self.ids = tuple(ids)
        self.tokenizer = _tokenizer_name(tokenizer)
        self.model = model
        self._tokenize = TOKENIZERS[self.tokenizer]
        self._position = {doc_id: i for i, doc_id in enumerate(self.ids)}

    @classmethod
    def build(
        cls, ids: Sequence[str], texts: Sequence[str], *, tokenizer: TokenizerName = "default",
        k1: float = 1.5, b: float = 0.75, method: str = "lucene",
    ) -> BM25Index:
        """Index `texts` under `ids` (same order); ids must be unique non-empty strings."""
        ids, texts = list(ids), list(texts)
        _check_ids(ids, texts)
        tokenize = TOKENIZERS[_tokenizer_name(tokenizer)]
        if method not in METHODS:
            raise BM25IndexError(f"unknown BM25 method {method!r}; choose one of {METHODS}")
        corpus = [tokenize(t) for t in texts]
        if not any(corpus):
            raise BM25IndexError(f"no document has a token under tokenizer {tokenizer!r}; nothing to index")
        model = bm25s.BM25(k1=k1, b=b, method=method)
        model.index(corpus, create_empty_token=False, show_progress=False)
        return cls(ids, tokenizer, model)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def k1(self) -> float:
        return self.model.k1

    @property
    def b(self) -> float:
        return self.model.b

    @property
    def method(self) -> str:
        return self.model.method

    def scores(self, query: str) -> np.ndarray:
        """bm25s's score of `query` against every document (float32, corpus order); all 0 if no
        query token is in the vocabulary."""
        token_ids = self.model.get_tokens_ids(self._tokenize(query))
        if not token_ids:
            return np.zeros(len(self.ids), dtype=self.model.dtype)
        return self.model.get_scores_from_ids(token_ids)

    def search(
        self, queries: Sequence[str], k: int, *,
        exclude_ids: Sequence[str | Collection[str] | None] | None = None, ties: TieRule = "lowest",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k per query: (scores, corpus indices), each (len(queries), k), best first.

        `exclude_ids`, one entry per query (an id, a collection of ids, or None), removes those
        documents from that query's results, e.g. the query's own record in leave-one-out;
        ids not in the index are ignored.
        """
        if isinstance(queries, str):
            raise TypeError("queries must be a sequence of strings, not one string")
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise BM25IndexError(f"k must be a positive integer, got {k!r}")
        check_ties(ties)
        if exclude_ids is not None and len(exclude_ids) != len(queries):
            raise BM25IndexError(f"exclude_ids has {len(exclude_ids)} entries for {len(queries)} queries")
        out_scores = np.full((len(queries), k), np.nan, dtype=np.float32)
        out_index = np.full((len(queries), k), -1, dtype=np.int64)
        for row, query in enumerate(queries):
            scores = self.scores(query)
            excluded = exclude_ids[row] if exclude_ids is not None else None
            if excluded is not None:
                scores = scores.copy()
                scores[self._excluded(excluded)] = -np.inf
            top = _top_k(scores, min(k, len(scores)), ties)
            top = top[np.isfinite(scores[top])]
            out_index[row, : len(top)] = top
            out_scores[row, : len(top)] = scores[top]
        return out_scores, out_index

    def _excluded(self, entry: str | Collection[str]) -> list[int]:
        ids = [entry] if isinstance(entry, str) else entry
        return [self._position[i] for i in ids if i in self._position]

    def save(self, directory: str | Path) -> Path:
        """Write bm25s's files plus `molbridge_bm25.json` (ids, tokenizer) as `directory`, atomically."""
        meta = {"format": FORMAT, "tokenizer": self.tokenizer, "bm25s_version": bm25s.__version__,
                "ids": list(self.ids)}
        with atomic_directory(directory) as staging:
            self.model.save(staging, show_progress=False)
            (staging / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path) -> BM25Index:
        """Reopen a saved index; a missing or damaged file raises `FileFormatError` naming it."""
        d = Path(directory)
        if not d.is_dir():
            raise FileFormatError(str(d), None, "no such index directory")
        meta = _read_meta(d / META_FILE)
        for name in _BM25S_JSON:
            _read_json(d / name)
        arrays = {name: _read_npy(d / name) for name in _BM25S_NPY}
        try:
            model = bm25s.BM25.load(d, show_progress=False)
        except (OSError, ValueError, KeyError, TypeError, EOFError) as e:
            raise FileFormatError(str(d), None, f"bm25s cannot load the index: {type(e).__name__}: {e}") from e
        _check_consistent(d, model, arrays, len(meta["ids"]))
        return cls(meta["ids"], meta["tokenizer"], model)


def _top_k(scores: np.ndarray, k: int, ties: TieRule) -> np.ndarray:
    """Indices of the k best scores, best first, equal scores ordered by `ties`."""
    if ties == "bm25s":
        return np.asarray(bm25s_topk(scores, k, backend="numpy", sorted=True)[1], dtype=np.int64)
    n = len(scores)
    if k < n:
        kth = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(n)
    order = np.lexsort((candidates, -scores[candidates]))[:k]
    return candidates[order]


def _tokenizer_name(name: str) -> str:
    if name not in TOKENIZERS:
        raise BM25IndexError(f"unknown tokenizer {name!r}; choose one of {sorted(TOKENIZERS)}")
    return name


def _check_ids(ids: list, texts: list) -> None:
    if len(ids) != len(texts):
        raise BM25IndexError(f"{len(ids)} ids for {len(texts)} texts")
    if not ids:
        raise BM25IndexError("empty corpus: nothing to index")
    seen: set[str] = set()
    for i, doc_id in enumerate(ids):
        if not isinstance(doc_id, str) or not doc_id:
            raise BM25IndexError(f"id at position {i} is {doc_id!r}; ids must be non-empty strings")
        if doc_id in seen:
            raise BM25IndexError(f"duplicate id {doc_id!r} (position {i} and {ids.index(doc_id)})")
        seen.add(doc_id)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise BM25IndexError(f"text for id {ids[i]!r} is {type(text).__name__}, not str")


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError(str(path), None, "missing; not a saved BM25Index") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise FileFormatError(str(path), None, f"unreadable JSON: {e}") from None


def _read_meta(path: Path) -> dict:
    meta = _read_json(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FileFormatError(str(path), None, f"not a {FORMAT} file")
    ids, tokenizer = meta.get("ids"), meta.get("tokenizer")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids) or len(set(ids)) != len(ids):
        raise FileFormatError(str(path), None, "'ids' must be a list of unique non-empty strings")
    if tokenizer not in TOKENIZERS:
        raise FileFormatError(str(path), None, f"unknown tokenizer {tokenizer!r}")
    return meta


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise FileFormatError(str(path), None, "missing; not a saved BM25Index") from None
    except (OSError, ValueError, EOFError) as e:
        raise FileFormatError(str(path), None, f"unreadable array: {e}") from None


def _check_consistent(d: Path, model: bm25s.BM25, arrays: dict[str, np.ndarray], n_ids: int) -> None:
    data, indices, indptr = (arrays[name] for name in _BM25S_NPY)
    if model.scores["num_docs"] != n_ids:
        raise FileFormatError(str(d / "params.index.json"), None,
                              f"num_docs {model.scores['num_docs']} but {n_ids} ids in {META_FILE}")
    if indptr.ndim != 1 or len(indptr) != len(model.vocab_dict) + 1:
        raise FileFormatError(str(d / _BM25S_NPY[2]), None, "does not match the vocabulary size")
    if data.shape != indices.shape or (len(indptr) and indptr[-1] != len(data)):
        raise FileFormatError(str(d / _BM25S_NPY[0]), None, "data, indices and indptr disagree in length")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_ids):
        raise FileFormatError(str(d / _BM25S_NPY[1]), None, "document index out of range")

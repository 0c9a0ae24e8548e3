"""Neighbour indexes the server loads at start: a fingerprint index answers molecules (exact Tanimoto), a BM25
index or a dense index (with molbridge's packaged sentence encoder) answers text.

Which one a path is comes from its own files (a fingerprint file, `molbridge_bm25.json`, or a dense index's
metadata), so `--index NAME=PATH` needs no kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from molbridge.errors import FileFormatError
from molbridge.retrieval.bm25 import META_FILE as BM25_META

Query = Literal["molecule", "text"]


@dataclass
class LoadedIndex:
    name: str
    path: Path
    kind: Literal["fingerprint", "bm25", "dense"]
    query: Query  # what a client asks it with
    index: Any
    encoder: Any = None  # dense: the text encoder of its queries

    @property
    def size(self) -> int:
        return len(self.index)

    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        """The top-k (id, score) of one query, best first; a molecule in any notation `/v1/molecule` reads (an
        invalid one raises InvalidMolecule)."""
        k = min(k, self.size)
        if k == 0:
            return []
        if self.kind == "fingerprint":
            from rdkit import Chem

            from molbridge.serve.molecule import read_molecule

            scores, rows = self.index.query_smiles([Chem.MolToSmiles(read_molecule(text)[0])], k)
        elif self.kind == "bm25":
            scores, rows = self.index.search([text], k)
        else:
            scores, rows = self.index.search(self.encoder.encode([text]), k)
        return [(self.index.ids[int(i)], float(s)) for i, s in zip(rows[0], scores[0], strict=True)
                if i >= 0 and np.isfinite(s)]


def open_index(name: str, path: Path) -> LoadedIndex:
    """Load the index at `path`; an unreadable or unknown one raises FileFormatError naming it."""
    from molbridge.retrieval.dense_index import META_FILE as DENSE_META

    if path.is_dir() and (path / BM25_META).is_file():
        from molbridge.retrieval.bm25 import BM25Index

        return LoadedIndex(name, path, "bm25", "text", BM25Index.load(path))
    if path.is_dir() and (path / DENSE_META).is_file():
        from molbridge.retrieval.dense_index import DenseIndex
        from molbridge.retrieval.text_encoder import TextEncoder

        index = DenseIndex.load(path)
        encoder = TextEncoder.load()
        if encoder.dim != index.dim:
            raise FileFormatError(str(path), None, f"a dense index of {index.dim}-dimensional vectors; the text "
                                                   f"encoder gives {encoder.dim}")
        return LoadedIndex(name, path, "dense", "text", index, encoder)
    if path.is_file():
        from molbridge.retrieval.fingerprint_index import FingerprintIndex

        return LoadedIndex(name, path, "fingerprint", "molecule", FingerprintIndex.load(path))
    raise FileFormatError(str(path), None, "not an index: expected a fingerprint index file (`molbridge retrieve "
                                           "index`), a BM25 index directory or a dense index directory")

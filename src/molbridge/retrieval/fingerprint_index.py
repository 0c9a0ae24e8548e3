"""Exact top-k Tanimoto search over packed bit fingerprints, saved to a memory-mappable file.

Fingerprints live as one C-contiguous ``uint64`` matrix (row = molecule, bit ``i`` in word
``i // 64``), with per-row popcounts, so Tanimoto is ``c / (|a| + |b| - c)`` with
``c = popcount(a & b)``; two empty fingerprints score 0.0, as RDKit's ``TanimotoSimilarity``.
Scores are divisions of the same integers RDKit divides, hence bit-identical to
``BulkTanimotoSimilarity``.

Why numba: numpy has no fused and-popcount-sum (``np.bitwise_count(pool & q).sum(1)``
materialises an ``n x words`` intermediate: 15 M comparisons/s on ChEBI-20, 2.5x RDKit),
and numba cannot type ``np.bitwise_count``; a one-line LLVM ``ctpop`` intrinsic lets LLVM
emit ``vpopcntq`` (AVX-512) or ``popcnt`` for the host CPU. On one core that gives 220-300 M
comparisons/s for a batch of queries and ~95 M/s for one query, which on a 1 M pool is
~0.9 of the memory-bandwidth bound (``BENCHMARKS.md``; RDKit bulk + top-k: 7-9 M/s).
The pool is scanned in L2-sized tiles that every query of the batch passes over, four
queries per row load, so the matrix is read from memory once per batch. Candidates are
compared with the k-th best as fractions (``c1 * d2 > c2 * d1``): exact, and no division
for the rows that lose.

Order: best score first; equal scores by lower pool index (rows are scanned in index
order and a row enters only if strictly better), so results are deterministic and equal
to ``np.lexsort((index, -score))``. Unfilled slots (``k`` above the rows available) hold
index -1 and score NaN.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic
from rdkit import Chem, DataStructs

from molbridge.atomic import atomic_path
from molbridge.chem.batch import map_molecules
from molbridge.chem.fingerprints import BitVect, maccs, morgan_bits, rdk
from molbridge.chem.parse import to_mol
from molbridge.errors import MolbridgeError

logger = logging.getLogger(__name__)

MAGIC = b"MBFPIDX\n"
VERSION = 1
_PREFIX = struct.Struct("<8sII")  # magic, version, header length
_ALIGN = 64
_TILE_BYTES = 256 * 1024  # pool rows per tile: about a quarter of a 1 MiB L2
# kind → (bits, featurizer): morgan_bits takes (mol, radius, n_bits), the others (mol)
_KINDS: dict[str, tuple[int, Callable[..., BitVect]]] = {"morgan": (2048, morgan_bits), "maccs": (167, maccs),
                                                         "rdk": (2048, rdk)}


class IndexInputError(MolbridgeError, ValueError):
    """An index built or searched with inconsistent input (duplicate ids, empty pool, wrong width)."""


class IndexFileError(MolbridgeError, ValueError):
    """A saved index that cannot be read; names the file and what is wrong with it."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class FingerprintSpec:
    """Which chem-layer fingerprint the rows are; queries must be featurised the same way."""

    kind: str
    radius: int | None
    n_bits: int

    @classmethod
    def make(cls, kind: str, radius: int | None = None, n_bits: int | None = None) -> FingerprintSpec:
        """Morgan defaults to radius 2, 2048 bits; MACCS (167) and RDK (2048) have fixed sizes."""
        if kind not in _KINDS:
            raise IndexInputError(f"unknown fingerprint kind {kind!r}; expected one of {sorted(_KINDS)}")
        size = _KINDS[kind][0]
        if kind == "morgan":
            radius, n_bits = 2 if radius is None else radius, size if n_bits is None else n_bits
            if not (isinstance(radius, int) and radius >= 0 and isinstance(n_bits, int) and n_bits >= 1):
                raise IndexInputError(f"morgan needs radius >= 0 and n_bits >= 1, got {radius}, {n_bits}")
        elif radius is not None or n_bits not in (None, size):
            raise IndexInputError(f"{kind} fingerprints have no radius and exactly {size} bits")
        return cls(kind, radius, size if n_bits is None else n_bits)

    @property
    def words(self) -> int:
        return (self.n_bits + 63) // 64

    def featurize(self, mol: Chem.Mol) -> BitVect:
        fn = _KINDS[self.kind][1]
        return fn(mol, self.radius, self.n_bits) if self.kind == "morgan" else fn(mol)


@intrinsic
def _popcount(typingctx, x):
    """LLVM ctpop: a single instruction (vectorised across words) where the CPU has one.

    Jitted code calls it as ``_popcount(x)``; numba's stubs type the call like this typing function, with
    ``typingctx``, hence the ``type: ignore[call-arg]`` at the call sites.
    """
    if x != types.uint64:
        return None
    return types.int64(types.uint64), lambda context, builder, sig, args: builder.ctpop(args[0])


@njit(cache=True, nogil=True)
def _row_popcounts(packed):
    out = np.empty(packed.shape[0], np.int32)
    for r in range(packed.shape[0]):
        c = 0
        for j in range(packed.shape[1]):
            c += _popcount(packed[r, j])  # type: ignore[call-arg]  # see _popcount
        out[r] = c
    return out


@njit(cache=True, nogil=True)
def _insert(c, d, r, qi, k, ex_ptr, ex_idx, num, den, idx):
    """Put row ``r`` (score ``c / d``, above the k-th) into query ``qi``'s sorted top-k unless excluded.

    Kept out of line (numba compiles it as a call): inlined into the scan it made the scan 4x slower.
    """
    for e in range(ex_ptr[qi], ex_ptr[qi + 1]):
        if ex_idx[e] == r:
            return
    p = k - 1
    while p > 0 and c * den[qi, p - 1] > num[qi, p - 1] * d:
        num[qi, p], den[qi, p], idx[qi, p] = num[qi, p - 1], den[qi, p - 1], idx[qi, p - 1]
        p -= 1
    num[qi, p], den[qi, p], idx[qi, p] = c, d, r


@njit(cache=True, nogil=True)
def _top_k(pool, pool_pop, queries, k, ex_ptr, ex_idx, num, den, idx):
    """Serial exact top-k; ``num/den/idx`` come in as ``-1 / 1 / -1`` (below every real score).

    Four queries share each pool-row load. The tests against the k-th best are written out:
    a loop over the four counts, or an inlined helper, ran 30-40% slower.
    """
    n, words = pool.shape
    nq = queries.shape[0]
    q_pop = _row_popcounts(queries)
    tile = max(16, _TILE_BYTES // (8 * words))
    for t0 in range(0, n, tile):
        t1 = min(n, t0 + tile)
        for q0 in range(0, nq - 3, 4):
            for r in range(t0, t1):
                c0 = c1 = c2 = c3 = 0
                for j in range(words):
                    x = pool[r, j]
                    c0 += _popcount(queries[q0, j] & x)  # type: ignore[call-arg]  # see _popcount
                    c1 += _popcount(queries[q0 + 1, j] & x)
                    c2 += _popcount(queries[q0 + 2, j] & x)
                    c3 += _popcount(queries[q0 + 3, j] & x)
                pr = pool_pop[r]
                d = max(q_pop[q0] + pr - c0, 1)  # 0/0 (both empty) scores 0/1
                if c0 * den[q0, k - 1] > num[q0, k - 1] * d:
                    _insert(c0, d, r, q0, k, ex_ptr, ex_idx, num, den, idx)
                d = max(q_pop[q0 + 1] + pr - c1, 1)
                if c1 * den[q0 + 1, k - 1] > num[q0 + 1, k - 1] * d:
                    _insert(c1, d, r, q0 + 1, k, ex_ptr, ex_idx, num, den, idx)
                d = max(q_pop[q0 + 2] + pr - c2, 1)
                if c2 * den[q0 + 2, k - 1] > num[q0 + 2, k - 1] * d:
                    _insert(c2, d, r, q0 + 2, k, ex_ptr, ex_idx, num, den, idx)
                d = max(q_pop[q0 + 3] + pr - c3, 1)
                if c3 * den[q0 + 3, k - 1] > num[q0 + 3, k - 1] * d:
                    _insert(c3, d, r, q0 + 3, k, ex_ptr, ex_idx, num, den, idx)
        for qi in range(nq - nq % 4, nq):
            for r in range(t0, t1):
                c = 0
                for j in range(words):
                    c += _popcount(queries[qi, j] & pool[r, j])  # type: ignore[call-arg]  # see _popcount
                d = max(q_pop[qi] + pool_pop[r] - c, 1)
                if c * den[qi, k - 1] > num[qi, k - 1] * d:
                    _insert(c, d, r, qi, k, ex_ptr, ex_idx, num, den, idx)


@njit(cache=True, parallel=True)
def _top_k_parallel(pool, pool_pop, queries, k, ex_ptr, ex_idx, num, den, idx, chunks):
    """One contiguous query chunk per thread, each streaming the pool once."""
    nq = queries.shape[0]
    for c in prange(chunks):
        lo, hi = c * nq // chunks, (c + 1) * nq // chunks
        _top_k(pool, pool_pop, queries[lo:hi], k, ex_ptr[lo:hi + 1], ex_idx, num[lo:hi], den[lo:hi], idx[lo:hi])


def pack_bitvects(fps: Sequence[BitVect], n_bits: int) -> np.ndarray:
    """ExplicitBitVects as an ``(n, words)`` uint64 matrix, via RDKit's little-endian FPS hex."""
    width = (n_bits + 63) // 64 * 16
    for i, fp in enumerate(fps):
        if not isinstance(fp, DataStructs.ExplicitBitVect) or fp.GetNumBits() != n_bits:
            got = fp.GetNumBits() if isinstance(fp, DataStructs.ExplicitBitVect) else type(fp).__name__
            raise IndexInputError(f"fingerprint {i}: expected an ExplicitBitVect of {n_bits} bits, got {got}")
    text = "".join(DataStructs.BitVectToFPSText(fp).ljust(width, "0") for fp in fps)
    return np.frombuffer(bytes.fromhex(text), "<u8").reshape(len(fps), width // 16).astype(np.uint64)


def _check_packed(packed: np.ndarray, spec: FingerprintSpec, what: str) -> np.ndarray:
    if not isinstance(packed, np.ndarray) or packed.dtype != np.uint64 or packed.ndim != 2 \
            or packed.shape[1] != spec.words:
        shape = getattr(packed, "shape", type(packed).__name__)
        raise IndexInputError(f"{what}: expected uint64 of shape (n, {spec.words}), got {shape}")
    spare = spec.words * 64 - spec.n_bits
    if spare and packed.size and (packed[:, -1] >> np.uint64(64 - spare)).any():
        raise IndexInputError(f"{what}: bits set beyond bit {spec.n_bits}")
    return np.ascontiguousarray(packed)


def _checked_ids(ids: Sequence[str]) -> list[str]:
    ids = list(ids)
    bad = next((i for i in ids if not isinstance(i, str)), None)
    if bad is not None:
        raise IndexInputError(f"ids must be str, got {type(bad).__name__} {bad!r}")
    if len(set(ids)) != len(ids):
        dup = next(i for i, count in Counter(ids).items() if count > 1)
        raise IndexInputError(f"duplicate id {dup!r}: ids must be unique")
    return ids


class FingerprintIndex:
    """A pool of fingerprints with unique string ids, searched exactly by Tanimoto."""

    def __init__(self, ids: Sequence[str], packed: np.ndarray, spec: FingerprintSpec,
                 popcounts: np.ndarray | None = None) -> None:
        """``popcounts`` is trusted as given (``load`` passes the saved ones); else computed."""
        self.spec = spec
        self.ids = _checked_ids(ids)
        self.packed = packed if popcounts is not None else _check_packed(packed, spec, "pool")
        if len(self.ids) != self.packed.shape[0]:
            raise IndexInputError(f"{len(self.ids)} ids for {self.packed.shape[0]} fingerprints")
        self.popcounts = _row_popcounts(self.packed) if popcounts is None else popcounts

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_bitvects(cls, ids: Sequence[str], fps: Sequence[BitVect], *, kind: str = "morgan",
                      radius: int | None = None, n_bits: int | None = None) -> FingerprintIndex:
        spec = FingerprintSpec.make(kind, radius, n_bits)
        return cls(ids, pack_bitvects(fps, spec.n_bits), spec)

    @classmethod
    def from_smiles(cls, ids: Sequence[str], smiles: Sequence[str], kind: str = "morgan",
                    radius: int | None = None, n_bits: int | None = None,
                    ) -> tuple[FingerprintIndex, list[tuple[str, str]]]:
        """Index the valid molecules; return the invalid ones as ``(id, reason)``, never dropped silently."""
        spec = FingerprintSpec.make(kind, radius, n_bits)
        if len(ids) != len(smiles):
            raise IndexInputError(f"{len(ids)} ids for {len(smiles)} SMILES")
        _checked_ids(ids)  # before the slow featurisation
        batch = map_molecules(spec.featurize, smiles)
        failed = [(i, err.reason) for i, err in zip(ids, batch.errors) if err is not None]
        kept = [(i, fp) for i, fp in zip(ids, batch.values) if fp is not None]
        index = cls([i for i, _ in kept], pack_bitvects([fp for _, fp in kept], spec.n_bits), spec)
        logger.info("indexed %d of %d molecules (%s)", len(index), len(ids), spec.kind)
        return index, failed

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {id_: i for i, id_ in enumerate(self.ids)}

    def _queries(self, queries: np.ndarray | BitVect | Sequence[BitVect]) -> np.ndarray:
        if isinstance(queries, np.ndarray):
            return _check_packed(queries.reshape(1, -1) if queries.ndim == 1 else queries, self.spec, "queries")
        if isinstance(queries, DataStructs.ExplicitBitVect):
            queries = [queries]
        return pack_bitvects(list(queries), self.spec.n_bits)

    def _exclusions(self, exclude_ids: Sequence[str | Collection[str] | None] | None,
                    nq: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-query pool rows to skip, as CSR arrays; ids not in the pool exclude nothing."""
        if exclude_ids is None:
            return np.zeros(nq + 1, np.int64), np.empty(0, np.int64)
        if len(exclude_ids) != nq:
            raise IndexInputError(f"exclude_ids has {len(exclude_ids)} entries for {nq} queries")
        ids = [[] if e is None else [e] if isinstance(e, str) else list(e) for e in exclude_ids]
        rows = [[self._positions[i] for i in row if i in self._positions] for row in ids]
        ptr = np.zeros(nq + 1, np.int64)
        ptr[1:] = np.cumsum([len(row) for row in rows])
        return ptr, np.array([p for row in rows for p in row], np.int64)

    def search(self, queries: np.ndarray | BitVect | Sequence[BitVect], k: int, *,
               exclude_ids: Sequence[str | Collection[str] | None] | None = None,
               parallel: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` Tanimoto: ``(scores float64 (q, k), indices int64 (q, k))``, best first.

        ``queries``: packed ``uint64`` rows (1-D for one query) or ExplicitBitVect(s) of the
        index's width. ``exclude_ids[i]``: an id (or ids) query ``i`` must not return, e.g.
        itself. ``parallel`` spreads query chunks over numba's threads; results are identical.
        """
        if len(self) == 0:
            raise IndexInputError("cannot search an empty index (no fingerprints were indexed)")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise IndexInputError(f"k must be a positive integer, got {k!r}")
        packed = self._queries(queries)
        nq, kk = packed.shape[0], min(int(k), len(self))
        ex_ptr, ex_idx = self._exclusions(exclude_ids, nq)
        # k columns, of which the kernel fills kk; the rest keep the sentinel -1 / 1 / -1
        num, den, idx = np.full((nq, k), -1, np.int64), np.ones((nq, k), np.int64), np.full((nq, k), -1, np.int64)
        args = (self.packed, self.popcounts, packed, kk, ex_ptr, ex_idx, num, den, idx)
        if parallel and nq >= 8 and numba.get_num_threads() > 1:
            _top_k_parallel(*args, min(numba.get_num_threads(), nq // 4))
        else:
            _top_k(*args)
        scores = np.where(idx >= 0, num / den, np.nan)
        return scores, idx

    def query_smiles(self, smiles_list: Sequence[str], k: int, *, query_ids: Sequence[str] | None = None,
                     exclude_self: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Featurise SMILES with the index's spec and search; an invalid one raises InvalidMolecule.

        With ``query_ids`` and ``exclude_self``, a query whose id is in the pool never returns itself.
        """
        fps = [self.spec.featurize(to_mol(s)) for s in smiles_list]
        if query_ids is not None and len(query_ids) != len(fps):
            raise IndexInputError(f"{len(query_ids)} query ids for {len(fps)} SMILES")
        return self.search(fps, k, exclude_ids=list(query_ids) if exclude_self and query_ids else None)

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically (`molbridge.atomic`): a reader sees the old index or the complete new one."""
        ids = json.dumps(self.ids, ensure_ascii=False).encode()
        pops = np.ascontiguousarray(self.popcounts, "<i4").tobytes()
        header = json.dumps({"spec": {"kind": self.spec.kind, "radius": self.spec.radius,
                                      "n_bits": self.spec.n_bits},
                             "n": len(self), "words": self.spec.words, "ids_bytes": len(ids),
                             "crc32": zlib.crc32(pops, zlib.crc32(ids))}).encode()
        head = _PREFIX.pack(MAGIC, VERSION, len(header)) + header + ids
        with atomic_path(path) as tmp, open(tmp, "xb") as f:
            f.writelines(part + b"\0" * (-len(part) % _ALIGN) for part in (head, pops))
            f.write(np.ascontiguousarray(self.packed, "<u8").data)  # no copy of a mapped matrix

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True) -> FingerprintIndex:
        """Read a saved index; the matrix is memory-mapped read-only unless ``mmap=False``."""
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            prefix = f.read(_PREFIX.size)
            if len(prefix) < _PREFIX.size:
                raise IndexFileError(path, f"truncated: {size} bytes, shorter than the {_PREFIX.size}-byte prefix")
            magic, version, header_len = _PREFIX.unpack(prefix)
            if magic != MAGIC:
                raise IndexFileError(path, f"not a molbridge fingerprint index (magic {magic!r})")
            if version != VERSION:
                raise IndexFileError(path, f"unsupported format version {version} (this molbridge reads {VERSION})")
            try:
                meta = json.loads(f.read(header_len))
                spec = FingerprintSpec.make(**meta["spec"])
                n, words, ids_bytes = int(meta["n"]), int(meta["words"]), int(meta["ids_bytes"])
                if words != spec.words or n < 0 or ids_bytes < 2:
                    raise ValueError("inconsistent sizes")
            except (ValueError, KeyError, TypeError) as err:
                raise IndexFileError(path, f"corrupt header: {err}") from None
            pops_at = _aligned(_PREFIX.size + header_len + ids_bytes)
            matrix_at = _aligned(pops_at + 4 * n)
            if size != (want := matrix_at + 8 * n * words):
                what = "truncated" if size < want else "trailing data"
                raise IndexFileError(path, f"{what}: {size} bytes where the header implies {want}")
            ids_raw = f.read(ids_bytes)
            f.seek(pops_at)
            pops_raw = f.read(4 * n)
        if zlib.crc32(pops_raw, zlib.crc32(ids_raw)) != meta.get("crc32"):
            raise IndexFileError(path, "checksum mismatch in the ids or popcounts")
        ids = json.loads(ids_raw)
        if not isinstance(ids, list) or len(ids) != n:
            raise IndexFileError(path, f"expected {n} ids")
        if mmap and n:
            matrix = np.memmap(path, np.dtype("<u8"), "r", matrix_at, (n, words)).view(np.ndarray)
        else:
            matrix = np.fromfile(path, np.dtype("<u8"), n * words, offset=matrix_at).reshape(n, words)
        pops = np.frombuffer(pops_raw, "<i4").astype(np.int32)
        try:
            return cls(ids, matrix.astype(np.uint64, copy=False), spec, pops)
        except IndexInputError as err:
            raise IndexFileError(path, str(err)) from None


def _aligned(offset: int) -> int:
    return offset + (-offset % _ALIGN)

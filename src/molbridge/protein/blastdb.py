"""Protein sequences from a BLAST version-4 database (`.pin` index, `.psq` residues, `.phr` headers), pure Python.

Why our own reader: Debian's metastudent-data ships 516 k UniProt proteins only as BLAST
databases, and `blastdbcmd` (ncbi-blast+) would add a 100 MB install to read them. The format is
small: the index holds big-endian counts and two offset arrays (headers and sequences); residues
are one byte each in NCBIstdaa code; each header is an ASN.1 BER `Blast-def-line-set` whose first
VisibleString is the FASTA title. Files are memory-mapped, so opening is instant and a sequence
costs one slice.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from molbridge.errors import FileFormatError

# NCBIstdaa: byte value → residue letter (0 is the gap/terminator)
NCBISTDAA = "-ABCDEFGHIKLMNPQRSTVWXYZU*OJ"
_DECODE = bytes.maketrans(bytes(range(len(NCBISTDAA))), NCBISTDAA.encode())
_VISIBLE_STRING = 0x1A


class BlastDB:
    """An opened protein BLAST v4 database: `len(db)` sequences, each with a title and residues."""

    def __init__(self, prefix: str | Path) -> None:
        """Open `prefix.pin`, `prefix.psq` and `prefix.phr`; a damaged or foreign index raises FileFormatError."""
        self.prefix = Path(prefix)
        self._index_path = self.prefix.with_name(self.prefix.name + ".pin")
        paths = [self.prefix.with_name(self.prefix.name + ext) for ext in (".pin", ".psq", ".phr")]
        for path in paths:
            if not path.is_file():
                raise FileFormatError(str(path), None, "missing BLAST database file")
        index = paths[0].read_bytes()
        self.db_title, self.n, header_offsets, sequence_offsets = self._parse_index(index)
        self._headers = np.frombuffer(index, ">u4", self.n + 1, header_offsets).astype(np.int64)
        self._sequences = np.frombuffer(index, ">u4", self.n + 1, sequence_offsets).astype(np.int64)
        self._psq, self._phr = (self._map(path) for path in paths[1:])
        if self._sequences[-1] > len(self._psq) or self._headers[-1] > len(self._phr):
            raise FileFormatError(str(self._index_path), None, "offsets point past the end of the .psq/.phr files")

    @staticmethod
    def _map(path: Path) -> mmap.mmap | bytes:
        with path.open("rb") as handle:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if path.stat().st_size else b""

    def _parse_index(self, data: bytes) -> tuple[str, int, int, int]:
        def fail(reason: str) -> FileFormatError:
            return FileFormatError(str(self._index_path), None, reason)

        try:
            version, kind = struct.unpack_from(">II", data, 0)
            if version != 4:
                raise fail(f"BLAST database version {version}; only version 4 is supported")
            if kind != 1:
                raise fail("a nucleotide database; expected protein sequences")
            (title_len,) = struct.unpack_from(">I", data, 8)
            title = data[12:12 + title_len].decode("ascii", "replace")
            offset = 12 + title_len
            (stamp_len,) = struct.unpack_from(">I", data, offset)
            offset += 4 + stamp_len
            (n,) = struct.unpack_from(">I", data, offset)
            offset += 4 + 8 + 4  # count, total residues (little-endian 8 bytes), longest sequence
        except struct.error:
            raise fail("truncated index header") from None
        needed = offset + 2 * 4 * (n + 1)
        if len(data) < needed:
            raise fail(f"truncated index: {len(data)} bytes, {needed} needed for {n} sequences")
        return title, n, offset, offset + 4 * (n + 1)

    def __len__(self) -> int:
        return self.n

    def sequence(self, i: int) -> str:
        """Residues of sequence `i` as one-letter codes."""
        start, end = self._sequences[i], self._sequences[i + 1] - 1  # a 0 byte ends each sequence
        return bytes(self._psq[start:end]).translate(_DECODE).decode("ascii")

    def title(self, i: int) -> str:
        """The FASTA title of sequence `i` (the first VisibleString of its ASN.1 header)."""
        header = bytes(self._phr[self._headers[i]:self._headers[i + 1]])
        position = header.find(bytes([_VISIBLE_STRING]))
        if position < 0 or position + 1 >= len(header):
            raise FileFormatError(str(self.prefix) + ".phr", None, f"header {i} holds no title")
        length, start = header[position + 1], position + 2
        if length & 0x80:  # long form: the low bits say how many length bytes follow
            count = length & 0x7F
            length, start = int.from_bytes(header[start:start + count], "big"), start + count
        return header[start:start + length].decode("ascii", "replace")

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """(title, sequence) of every entry, in database order."""
        for i in range(self.n):
            yield self.title(i), self.sequence(i)

"""Delimited-file reading with errors that name the file, the line and the reason.

Research TSVs are written with `csv.QUOTE_NONE`, so a caption containing a tab or a truncated
write produces a row with too many or too few fields. Such a row is kept and marked ragged
(callers decide: a prediction file scores it as invalid), never silently dropped; a file that
cannot be read as a table at all (bad encoding, no header, missing columns) raises
`FileFormatError`.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from molbridge.errors import FileFormatError

if TYPE_CHECKING:
    from _csv import Reader

_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)  # csv's default 128 KiB cuts long generated outputs
Quoting = Literal[0, 1, 2, 3]  # csv.QUOTE_MINIMAL, QUOTE_ALL, QUOTE_NONNUMERIC, QUOTE_NONE


@dataclass(frozen=True)
class Row:
    """One data row: values by column (None where the row is too short), its line, raggedness."""

    line: int
    values: dict[str, str | None]
    ragged: str | None = None  # why the row does not match the header, if it does not

    def get(self, column: str) -> str | None:
        return self.values.get(column)


def read_text(path: str | Path) -> str:
    """The file decoded as UTF-8 (BOM tolerated); a decoding error names the line and byte."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise FileFormatError(str(p), None, "file not found") from None
    except IsADirectoryError:
        raise FileFormatError(str(p), None, "is a directory, expected a file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise FileFormatError(str(p), line, f"not valid UTF-8 (byte 0x{bad}); re-save the file as UTF-8") from None


def read_table(
    path: str | Path,
    *,
    delimiter: str,
    required: Sequence[str] = (),
    quoting: Quoting = csv.QUOTE_MINIMAL,
) -> tuple[list[str], Iterator[Row]]:
    """Header and rows of a delimited file; checks that the `required` columns exist."""
    text = read_text(path)
    if not text.strip():
        raise FileFormatError(str(path), None, "empty file: expected a header line")
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting,
                        strict=quoting != csv.QUOTE_NONE)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise FileFormatError(str(path), 1, f"unreadable header: {exc}") from None
    missing = [c for c in required if c not in header]
    if missing:
        shown = ", ".join(repr(h) for h in header[:12])
        sep = "tab" if delimiter == "\t" else repr(delimiter)
        raise FileFormatError(
            str(path), 1, f"missing column(s) {', '.join(map(repr, missing))}; found {shown} (delimiter {sep})"
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise FileFormatError(str(path), 1, f"duplicate column name(s) {', '.join(map(repr, dupes))}")
    return header, _rows(path, reader, header)


def _rows(path: str | Path, reader: Reader, header: list[str]) -> Iterator[Row]:
    width = len(header)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileFormatError(str(path), reader.line_num, f"malformed row: {exc}") from None
        line = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip() and width > 1):
            continue  # blank line
        ragged = None
        values: list[str | None] = list(fields)
        if len(fields) < width:
            ragged = f"{len(fields)} fields, header has {width}"
            values += [None] * (width - len(fields))
        elif len(fields) > width:
            ragged = f"{len(fields)} fields, header has {width}"
        yield Row(line=line, values=dict(zip(header, values)), ragged=ragged)

"""Reaction files in the formats USPTO data comes in, read into canonical reactions (`chem.reactions`).

- Delimited tables (`.csv`, `.tsv`, `.rsmi`, `.txt`, `.smi`, gzipped or not): USPTO-50k's CSV
  (`id,class,reactants>reagents>production`), Lowe's `.rsmi` (`ReactionSmiles`, `PatentNumber`, …, tab
  separated) or any table with a reaction column (found by a `>` in its name or a name like
  `reaction_smiles`; or named by `column`). A file whose first line is already a reaction has no
  header: one reaction per line, as USPTO-MIT's `train.txt` (`rxn_smiles [edits]`).
- MDL files: an `.rxn` file (one reaction), an `.rdf` RDfile (one `$RXN` block per `$RFMT` record), or
  a directory of them (sorted by name).
A reaction that cannot be read or is unbalanced is a `Problem` naming its file and line (or record),
counted by kind (`unparsable`, `unbalanced`), and reading goes on.
"""

from __future__ import annotations

import csv
import gzip
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from molbridge.chem.reactions import Reaction, ReactionError, parse_reaction, rxn_block_to_smiles
from molbridge.data.formats.common import Problem
from molbridge.data.sources.reading import Reading
from molbridge.errors import FileFormatError

LICENSE = "CC0 1.0 (Lowe's USPTO reaction extraction and the USPTO-50k / USPTO-MIT sets derived from it)"
TABLES = (".csv", ".tsv", ".rsmi", ".txt", ".smi")
MDL = (".rxn", ".rdf")
_REACTION_COLUMNS = ("reaction_smiles", "reactionsmiles", "rxn_smiles", "rxn", "reaction", "smiles")
_ID_COLUMNS = ("id", "_id", "reaction_id", "rxn_id", "patentnumber", "document_id")
_CLASS_COLUMNS = ("class", "reaction_class")


@dataclass(frozen=True)
class ReactionEntry:
    """A readable reaction, where it is, its id in the file (or its line) and what else the row says."""

    where: str
    position: str  # unique within the source: the line, or the MDL file (and record)
    source_id: str
    reaction: Reaction
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RawReaction:
    where: str
    position: str
    source_id: str
    text: str  # reaction SMILES (atom maps and CXSMILES extension allowed)
    extra: dict = field(default_factory=dict)


def read_reactions(path: str | Path, reading: Reading, *, column: str | None = None, id_column: str | None = None,
                   unmapped_reactants_as_reagents: bool = False) -> Iterator[ReactionEntry]:
    """The readable reactions of `path` in file order; the others go to `reading` (problems and counts)."""
    for raw in raw_reactions(Path(path), column=column, id_column=id_column, reading=reading):
        try:
            reaction = parse_reaction(raw.text, unmapped_reactants_as_reagents=unmapped_reactants_as_reagents)
        except ReactionError as err:
            reading.problems.append(Problem(raw.where, str(err)))
            reading.counts[err.kind] += 1
            continue
        yield ReactionEntry(raw.where, raw.position, raw.source_id, reaction, raw.extra)


def raw_reactions(path: Path, *, column: str | None, id_column: str | None, reading: Reading) -> Iterator[RawReaction]:
    """Each reaction of a file or a directory of MDL files as text, before it is read."""
    if not path.exists():
        raise FileFormatError(str(path), None, "no such reaction file or directory")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in MDL)
        if not files:
            raise FileFormatError(str(path), None, "a directory without .rxn or .rdf files")
        for file in files:
            yield from _mdl(file, reading)
        return
    suffix = path.suffix.lower() if path.suffix.lower() != ".gz" else Path(path.stem).suffix.lower()
    if suffix in MDL:
        yield from _mdl(path, reading)
    elif suffix in TABLES:
        yield from _table(path, suffix, column, id_column)
    else:
        raise FileFormatError(str(path), None, f"unknown reaction file type {suffix or '(none)'!r}; expected one of "
                                               f"{', '.join(TABLES + MDL)} (optionally .gz)")


@contextmanager
def _lines(path: Path) -> Iterator[Iterator[str]]:
    """The file's lines, streamed (a 1.8 M-row `.rsmi` never sits in memory), gzip read by its suffix; a file
    that is not UTF-8 text (or a broken gzip) raises FileFormatError naming it."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            yield handle
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as err:
        raise FileFormatError(str(path), None, f"cannot be read as UTF-8 text: {err}") from None


def _looks_like_reaction(line: str) -> bool:
    first = line.split()[0] if line.split() else ""
    return first.count(">") == 2 and "," not in first


def _table(path: Path, suffix: str, column: str | None, id_column: str | None) -> Iterator[RawReaction]:
    with _lines(path) as lines:
        numbered = ((number, line.rstrip("\r\n")) for number, line in enumerate(lines, start=1))
        first = next(((n, line) for n, line in numbered if line.strip()), None)
        if first is None:
            raise FileFormatError(str(path), None, "no reactions: the file is empty")
        if column is None and _looks_like_reaction(first[1]):  # headerless: one reaction per line
            for number, line in itertools.chain([first], numbered):
                if line.strip():
                    yield RawReaction(f"{path}:{number}", str(number), str(number), line.split("\t")[0].strip())
            return
        yield from _rows(path, first, numbered, "," if suffix == ".csv" else "\t", column, id_column)


def _rows(path: Path, header_line: tuple[int, str], numbered: Iterator[tuple[int, str]], delimiter: str,
          column: str | None, id_column: str | None) -> Iterator[RawReaction]:
    """The reactions of a table with a header (one row per line: reaction SMILES hold no line breaks)."""
    header = next(csv.reader([header_line[1]], delimiter=delimiter))
    reaction_at = _column(path, header, column, _REACTION_COLUMNS, require=True, by_arrow=True)
    assert reaction_at is not None  # a required column is found or raises
    id_at = _column(path, header, id_column, _ID_COLUMNS, require=id_column is not None)
    class_at = _column(path, header, None, _CLASS_COLUMNS, require=False)
    for number, line in numbered:
        if not line.strip():
            continue
        values = next(csv.reader([line], delimiter=delimiter))
        text = values[reaction_at].strip() if reaction_at < len(values) else ""
        source_id = values[id_at].strip() if id_at is not None and id_at < len(values) else ""
        extra = {"reaction_class": values[class_at].strip()} if class_at is not None and class_at < len(values) \
            else {}
        yield RawReaction(f"{path}:{number}", str(number), source_id or str(number), text, extra)


def _column(path: Path, header: list[str], named: str | None, candidates: tuple[str, ...], *, require: bool,
            by_arrow: bool = False) -> int | None:
    """The position of the named column, else the first candidate (or, for reactions, a name with a `>`)."""
    names = [h.strip() for h in header]
    if named is not None:
        if named not in names:
            raise FileFormatError(str(path), 1, f"no column {named!r}; the header has {', '.join(names)}")
        return names.index(named)
    lowered = [n.lower() for n in names]
    for i, name in enumerate(lowered):
        if (by_arrow and name.count(">") == 2) or name in candidates:
            return i
    if require:
        raise FileFormatError(str(path), 1, f"no reaction column (a name with two '>' or one of "
                                            f"{', '.join(candidates)}); name it with `column`; "
                                            f"header: {', '.join(names)}")
    return None


def _mdl(path: Path, reading: Reading) -> Iterator[RawReaction]:
    """The reactions of an `.rxn` file (one) or an `.rdf` file (one per `$RFMT` record), as reaction SMILES."""
    with _lines(path) as lines:
        text = "".join(lines)
    blocks = [(str(path), path.stem, path.stem, text)] if "$RFMT" not in text else list(_rdf_records(path, text))
    for where, position, source_id, block in blocks:
        try:
            yield RawReaction(where, position, source_id, rxn_block_to_smiles(block))
        except ReactionError as err:
            reading.problems.append(Problem(where, str(err)))
            reading.counts[err.kind] += 1


def _rdf_records(path: Path, text: str) -> Iterator[tuple[str, str, str, str]]:
    """`(where, position, id, RXN block)` per RDfile record: its `$RXN` line up to its first `$DTYPE` field."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("$RFMT")] + [len(lines)]
    for number, (start, end) in enumerate(itertools.pairwise(starts), start=1):
        header = lines[start].split()
        source_id = header[2] if len(header) > 2 else str(number)
        record = lines[start + 1:end]
        rxn = next((i for i, line in enumerate(record) if line.startswith("$RXN")), None)
        if rxn is None:
            yield f"{path}[#{number}]", f"{path.stem}#{number}", source_id, ""
            continue
        stop = next((i for i, line in enumerate(record) if line.startswith("$DTYPE")), len(record))
        yield f"{path}[#{number}]", f"{path.stem}#{number}", source_id, "\n".join(record[rxn:stop]) + "\n"

"""Swiss-Prot flat files (user downloads: `uniprot_sprot.dat[.gz]`) through Biopython, optionally with structures.

Each entry gives its primary accession, name, sequence and the curated `FUNCTION` comment, the
text Mol-Instructions' protein description tasks are built from. With `structures` (a directory
of PDB/mmCIF files named `{accession}.pdb|.cif` or AlphaFold DB's `AF-{accession}-F1-model_v4.pdb`),
the Cα coordinates of a file whose chain sequence equals the entry's are attached; a mismatch
is reported, never attached. The file is cut into entries at their `//` lines and each entry is
parsed alone, so a malformed one is reported and skipped and the entries after it are still read.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.errors import FileFormatError
from molbridge.protein.structure import read_ca_chain
from molbridge.records import AMINO_ACIDS

SOURCE = "swissprot"
LICENSE = "CC BY 4.0 (UniProtKB/Swiss-Prot)"
_EVIDENCE = re.compile(r"\s*\{ECO:[^{}]*\}(\.?)")  # {ECO:0000269|PubMed:1, ECO:0000305} and its period
_CITATION = re.compile(r"\s*\((?:PubMed:\d+|Ref\.\d+)(?:,\s*(?:PubMed:\d+|Ref\.\d+))*\)")  # (PubMed:1, PubMed:2)


@dataclass(frozen=True)
class SwissProtEntry:
    accession: str
    name: str
    sequence: str
    function: str
    coords: list[tuple[float, float, float]] | None
    where: str


def _structure_file(directory: Path, accession: str) -> Path | None:
    for stem in (accession, f"AF-{accession}-F1-model_v4"):
        for name in (f"{stem}.pdb", f"{stem}.cif", f"{stem}.pdb.gz", f"{stem}.cif.gz"):
            if (directory / name).is_file():
                return directory / name
    return None


def read_swissprot(path: str | Path, *, structures: str | Path | None = None,
                   problems: list[Problem] | None = None) -> Iterator[SwissProtEntry]:
    """Entries with a FUNCTION comment; entries without one, with a bad sequence or malformed, go to `problems`.

    A path that is not a file fails here, at the call, not at the first `next()` of a build.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(str(path), None, "a directory, not a Swiss-Prot file" if path.is_dir()
                              else "no such Swiss-Prot file")
    return _entries(path, Path(structures) if structures is not None else None,
                    problems if problems is not None else [])


def _entries(path: Path, directory: Path | None, problems: list[Problem]) -> Iterator[SwissProtEntry]:
    from Bio import SwissProt

    for number, lines in _entry_texts(path, problems):
        where = f"{path}[#{number}]"
        try:
            entry = SwissProt.read(io.StringIO("".join(lines)))
        except (ValueError, AssertionError, IndexError, KeyError) as err:  # Biopython's parse errors are untyped
            accession = _accession(lines)
            problems.append(Problem(f"{where} {accession}".rstrip(), f"malformed Swiss-Prot entry: {err}"))
            continue
        accession = entry.accessions[0] if entry.accessions else ""
        function = clean_function(entry.comments)
        if not accession:
            problems.append(Problem(where, "no AC line"))
        elif set(entry.sequence) - AMINO_ACIDS:
            problems.append(Problem(f"{where} {accession}", "letters outside the amino-acid alphabet"))
        elif not function:
            problems.append(Problem(f"{where} {accession}", "no FUNCTION comment"))
        else:
            coords = _coords(directory, accession, entry.sequence, problems) if directory is not None else None
            yield SwissProtEntry(accession, entry.entry_name, entry.sequence, function, coords, where)


def _entry_texts(path: Path, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """`(number, lines)` of each entry up to its `//` line, streamed: a 250k-entry file never sits in memory.

    Splitting ourselves lets a malformed entry be skipped (Biopython's parser cannot resynchronise);
    an entry cut short by the next `ID` line or by the end of the file is reported, not parsed.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    lines: list[str] = []
    number = 0
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("ID   ") and lines:
                _unterminated(path, number, lines, problems)
                lines, number = [], number + 1
            if lines or line.strip():  # blank lines between entries are skipped
                lines.append(line)
            if line.startswith("//"):
                yield number, lines
                lines, number = [], number + 1
    if lines:
        _unterminated(path, number, lines, problems)


def _unterminated(path: Path, number: int, lines: list[str], problems: list[Problem]) -> None:
    problems.append(Problem(f"{path}[#{number}] {_accession(lines)}".rstrip(), "Swiss-Prot entry without its // line"))


def _accession(lines: list[str]) -> str:
    """The primary accession of an entry's raw lines, or '' when it has no readable AC line."""
    for line in lines:
        if line.startswith("AC   "):
            return line[5:].split(";")[0].strip()
    return ""


def clean_function(comments: list[str]) -> str:
    """The FUNCTION comments joined, whole, without evidence tags and inline PubMed citations.

    `{ECO:...}` blocks (one or several evidences) are removed with the period UniProt puts after
    them when the sentence already ended (`Binds DNA. {ECO:1}.`), kept when it did not
    (`Binds DNA {ECO:1}.`); `(PubMed:1, PubMed:2)` citations are removed; whitespace is normalised.
    """
    texts = [c.split(":", 1)[1] for c in comments if c.startswith("FUNCTION:")]
    text = _CITATION.sub("", " ".join(texts))
    text = _EVIDENCE.sub(_evidence_replacement, text)
    return " ".join(text.split())


def _evidence_replacement(match: re.Match[str]) -> str:
    ended = match.string[:match.start()].rstrip().endswith((".", "!", "?"))
    return "" if ended else match.group(1)


def _coords(directory: Path, accession: str, sequence: str,
            problems: list[Problem]) -> list[tuple[float, float, float]] | None:
    """Cα coordinates of the entry's structure file when its chain sequence is the entry's; a mismatch is a problem."""
    found = _structure_file(directory, accession)
    if found is None:
        return None
    try:
        chain, ca = read_ca_chain(found)
    except FileFormatError as err:
        problems.append(Problem(str(found), err.reason))
        return None
    if chain != sequence:
        problems.append(Problem(str(found), f"chain sequence ({len(chain)} residues) differs from {accession}'s"))
        return None
    return ca

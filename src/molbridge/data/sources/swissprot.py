"""Swiss-Prot flat files (user downloads: `uniprot_sprot.dat[.gz]`) through Biopython, optionally with structures.

Each entry gives its primary accession, name, sequence and what Mol-Instructions' protein tasks
are built from: the curated `FUNCTION` comment (description), its `CATALYTIC ACTIVITY` comments
(reaction, Rhea and ChEBI ids, EC number: catalytic activity), its DOMAIN / MOTIF / REGION features
with Pfam and InterPro cross-references (domain/motif), and its GO molecular-function
cross-references (function). An entry is kept when any task can use it. With `structures` (a directory
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
from dataclasses import dataclass, replace
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.errors import FileFormatError
from molbridge.protein.ec import EnzymeList, is_ec
from molbridge.protein.go import ROOTS, GOTerm
from molbridge.protein.structure import read_ca_chain
from molbridge.records import AMINO_ACIDS

SOURCE = "swissprot"
LICENSE = "CC BY 4.0 (UniProtKB/Swiss-Prot)"
_EVIDENCE = re.compile(r"\s*\{ECO:[^{}]*\}(\.?)")  # {ECO:0000269|PubMed:1, ECO:0000305} and its period
_CITATION = re.compile(r"\s*\((?:PubMed:\d+|Ref\.\d+)(?:,\s*(?:PubMed:\d+|Ref\.\d+))*\)")  # (PubMed:1, PubMed:2)
# a CC line broken after a hyphen continues the word; Biopython joins it with the continuation's indent (3 spaces)
_WRAPPED_HYPHEN = re.compile(r"-\s{3}(?=\S)")
_ACTIVITY_FIELD = re.compile(r";\s+(?=[A-Za-z]+=)")  # `Reaction=...; Xref=...; EC=...; Evidence=...`
FEATURES = ("DOMAIN", "MOTIF", "REGION")
NOTHING = "nothing to build from: no FUNCTION, CATALYTIC ACTIVITY, domain/motif or GO function"


@dataclass(frozen=True)
class CatalyticActivity:
    """One CATALYTIC ACTIVITY comment. `rhea` holds the reaction's own Rhea ids (`RHEA:15801`), not those of its
    physiological directions nor Rhea's polymer classes (`RHEA-COMP:`); `ec` is None when UniProt gives none."""

    reaction: str
    ec: str | None
    rhea: tuple[str, ...]
    chebi: tuple[str, ...]


@dataclass(frozen=True)
class Feature:
    """A DOMAIN, MOTIF or REGION feature: its note ("SH3") and 1-based inclusive positions (None: UniProt's `?`)."""

    kind: str
    name: str
    start: int | None
    end: int | None


@dataclass(frozen=True)
class SwissProtEntry:
    accession: str
    name: str
    sequence: str
    function: str  # "" when the entry has no FUNCTION comment
    coords: list[tuple[float, float, float]] | None
    where: str
    activities: tuple[CatalyticActivity, ...] = ()
    features: tuple[Feature, ...] = ()
    pfam: tuple[str, ...] = ()
    interpro: tuple[str, ...] = ()
    go_terms: tuple[GOTerm, ...] = ()  # molecular function only; GO.db's definitions are not in the entry

    @property
    def domains(self) -> tuple[Feature, ...]:
        """The DOMAIN and MOTIF features: named units a model can be asked for (REGION notes are mostly
        descriptions or MobiDB-lite's "Disordered")."""
        return tuple(f for f in self.features if f.kind != "REGION")


def _structure_file(directory: Path, accession: str) -> Path | None:
    for stem in (accession, f"AF-{accession}-F1-model_v4"):
        for name in (f"{stem}.pdb", f"{stem}.cif", f"{stem}.pdb.gz", f"{stem}.cif.gz"):
            if (directory / name).is_file():
                return directory / name
    return None


def read_swissprot(path: str | Path, *, structures: str | Path | None = None, enzymes: EnzymeList | None = None,
                   problems: list[Problem] | None = None) -> Iterator[SwissProtEntry]:
    """Entries some task can use; entries with nothing to use, a bad sequence, a malformed EC number or, with
    `enzymes` (ExPASy's ENZYME list), one that is not a current EC number (that activity is left out, the rest
    kept), or that are malformed go to `problems`.

    A path that is not a file fails here, at the call, not at the first `next()` of a build.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(str(path), None, "a directory, not a Swiss-Prot file" if path.is_dir()
                              else "no such Swiss-Prot file")
    return _entries(path, Path(structures) if structures is not None else None, enzymes,
                    problems if problems is not None else [])


def _entries(path: Path, directory: Path | None, enzymes: EnzymeList | None,
             problems: list[Problem]) -> Iterator[SwissProtEntry]:
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
        if not accession:
            problems.append(Problem(where, "no AC line"))
        elif set(entry.sequence) - AMINO_ACIDS:
            problems.append(Problem(f"{where} {accession}", "letters outside the amino-acid alphabet"))
        elif not _usable(found := _annotated(entry, where, enzymes, problems)):
            problems.append(Problem(f"{where} {accession}", NOTHING))
        else:
            coords = _coords(directory, accession, entry.sequence, problems) if directory is not None else None
            yield replace(found, coords=coords)


def _annotated(entry, where: str, enzymes: EnzymeList | None, problems: list[Problem]) -> SwissProtEntry:
    """What a parsed entry tells the tasks (no coordinates yet); malformed or unknown EC numbers go to `problems`."""
    activities = []
    for activity in catalytic_activities(entry.comments):
        reason = _ec_problem(activity.ec, enzymes)
        if reason:
            problems.append(Problem(f"{where} {entry.accessions[0]}", f"{reason} in a CATALYTIC ACTIVITY; that "
                                                                      "activity is left out"))
        else:
            activities.append(activity)
    refs = entry.cross_references
    return SwissProtEntry(
        entry.accessions[0], entry.entry_name, entry.sequence, clean_function(entry.comments), None, where,
        tuple(activities), features(entry.features),
        tuple(r[1] for r in refs if r[0] == "Pfam"), tuple(r[1] for r in refs if r[0] == "InterPro"),
        tuple(GOTerm(r[1], r[2][2:], "MF", "") for r in refs
              if r[0] == "GO" and len(r) > 2 and r[2].startswith("F:") and r[1] not in ROOTS))


def _ec_problem(ec: str | None, enzymes: EnzymeList | None) -> str | None:
    if ec is None:
        return None
    if not is_ec(ec):
        return f"malformed EC number {ec!r}"
    return enzymes.unknown(ec) if enzymes is not None else None


def _usable(entry: SwissProtEntry) -> bool:
    return bool(entry.function or entry.activities or entry.domains or entry.go_terms)


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


def catalytic_activities(comments: list[str]) -> list[CatalyticActivity]:
    """Every CATALYTIC ACTIVITY comment parsed; a comment in the free-text form of releases before 2019 is a
    reaction without ids or EC number."""
    return [_activity(" ".join(_WRAPPED_HYPHEN.sub("-", c.split(":", 1)[1]).split()))
            for c in comments if c.startswith("CATALYTIC ACTIVITY:")]


def _activity(text: str) -> CatalyticActivity:
    fields: dict[str, str] = {}
    for part in _ACTIVITY_FIELD.split(text.rstrip(";")):
        key, _, value = part.partition("=")
        fields.setdefault(key, value.strip())  # the first Xref is the reaction's; later ones are its directions'
    if "Reaction" not in fields:
        return CatalyticActivity(_EVIDENCE.sub("", text).strip(), None, (), ())
    xrefs = [x.strip().partition(":")[2] for x in fields.get("Xref", "").split(",")]
    return CatalyticActivity(fields["Reaction"], fields.get("EC"), tuple(x for x in xrefs if x.startswith("RHEA:")),
                             tuple(x for x in xrefs if x.startswith("CHEBI:")))


def features(found) -> tuple[Feature, ...]:
    """The DOMAIN, MOTIF and REGION features with a note (UniProt's feature layout since release 2019_11)."""
    return tuple(Feature(f.type, " ".join(f.qualifiers["note"].split()), _position(f.location.start, 1),
                         _position(f.location.end, 0)) for f in found
                 if f.type in FEATURES and f.qualifiers.get("note"))


def _position(position, shift: int) -> int | None:
    try:
        return int(position) + shift
    except TypeError:  # UniProt's `?`: Biopython's UnknownPosition has no value
        return None


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

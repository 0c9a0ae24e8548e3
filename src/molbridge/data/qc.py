"""Quality control of instruction records, with a report that counts every drop by its reason.

Rules, in order (the first that fails drops the record):
1. `invalid_molecule`: the record's SMILES does not parse and sanitise in RDKit.
2. `element` / `too_small` / `too_large` / `charge`: elements outside the allowed set, heavy
   atoms outside [min, max], or a net formal charge beyond the limit.
3. `protein_length`: a sequence outside the length window (letters outside the amino-acid
   alphabet never get this far: the record schema refuses them where the source is read);
   `redundant_protein`: a protein clustered with another representative (`meta.extra["cluster"]`,
   set by a source with clustering on), unless `protein_redundancy="keep"`.
4. `duplicate`: the same question (`tasks.question_key`: task and property for a record molbridge
   built, task, property and instruction for an imported one) about the same molecule (canonical SMILES or
   InChIKey, by `dedup_key`) as a record kept before; for a protein record, the same question
   about the same sequence; for an imported record with neither, about the same subject id
   (a PubChem CID, a protein id).
5. `near_duplicate`: the same question about the same InChIKey connectivity block (stereoisomers,
   isotopologues, charge states) as a record kept before; drop, flag or keep (`near_duplicates`).
Captions with little information (fewer than `min_caption_words` words, or the ChEBI-20
boilerplate "... is a natural product found in ...") are flagged in the report, not dropped.

`QualityControl` keeps the keys it has seen, so it filters a stream chunk by chunk with the
same result as one pass over everything; `take_new_keys()` / `restore()` journal that memory
per chunk so a resumed build continues it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from rdkit import Chem

from molbridge.chem.parse import to_inchikey, to_mol_or_none
from molbridge.errors import InvalidMolecule, MolbridgeError
from molbridge.records import Record
from molbridge.tasks import question_key, task_for

ORGANIC = ("H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Se", "Br", "I")
_FACTS_LIMIT = 100_000  # memoised molecules; bounded so a long stream does not grow without limit
_BOILERPLATE = re.compile(r"\bis a natural product found in\b", re.I)


class QCConfigError(MolbridgeError, ValueError):
    """Quality-control settings that contradict each other."""


@dataclass(frozen=True)
class QCConfig:
    """Thresholds of every rule; the defaults suit drug-like and QM9-like small molecules."""

    elements: tuple[str, ...] = ORGANIC
    min_heavy_atoms: int = 1
    max_heavy_atoms: int = 150
    max_abs_charge: int = 2
    dedup_key: Literal["canonical", "inchikey"] = "inchikey"
    near_duplicates: Literal["drop", "flag", "keep"] = "drop"
    min_protein_length: int = 30
    max_protein_length: int = 2000
    min_caption_words: int = 8
    protein_redundancy: Literal["drop", "keep"] = "drop"
    # read by pydantic where a build config holds a QCConfig: a misspelt key is an error, not ignored
    __pydantic_config__: ClassVar[dict] = {"extra": "forbid"}

    def __post_init__(self) -> None:
        if self.min_heavy_atoms > self.max_heavy_atoms or self.min_protein_length > self.max_protein_length:
            raise QCConfigError("a minimum is above its maximum")
        if self.dedup_key not in ("canonical", "inchikey") or self.near_duplicates not in ("drop", "flag", "keep"):
            raise QCConfigError(f"dedup_key {self.dedup_key!r} / near_duplicates {self.near_duplicates!r} unknown")


@dataclass
class QCReport:
    """Counts of records seen, kept, dropped per reason and flagged per reason; examples of each."""

    seen: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    flagged: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason → first record ids

    def note(self, kind: Counter, reason: str, record_id: str) -> None:
        kind[reason] += 1
        ids = self.examples.setdefault(reason, [])
        if len(ids) < 5:
            ids.append(record_id)

    def to_dict(self) -> dict:
        return {"seen": self.seen, "kept": self.kept, "dropped": dict(self.dropped), "flagged": dict(self.flagged),
                "examples": self.examples}


Facts = tuple[str | None, str, str]  # (failed rule or None, dedup key, InChIKey connectivity block)


def molecule_facts(mol: Chem.Mol | None, config: QCConfig, inchi: str | None = None) -> Facts:
    """What QC needs of a molecule, as a pure function of the config: picklable, computable anywhere.

    `inchi`, when the record already has it, saves computing it again."""
    if mol is None:
        return "invalid_molecule", "", ""
    reason = _molecule_rule(mol, config)
    if reason:
        return reason, "", ""
    try:
        inchikey = to_inchikey(mol, inchi)
    except InvalidMolecule:
        return "invalid_molecule", "", ""
    return None, Chem.MolToSmiles(mol) if config.dedup_key == "canonical" else inchikey, inchikey[:14]


def _molecule_rule(mol: Chem.Mol, c: QCConfig) -> str | None:
    if any(atom.GetSymbol() not in c.elements for atom in mol.GetAtoms()):
        return "element"
    heavy = mol.GetNumHeavyAtoms()
    if heavy < c.min_heavy_atoms:
        return "too_small"
    if heavy > c.max_heavy_atoms:
        return "too_large"
    if abs(Chem.GetFormalCharge(mol)) > c.max_abs_charge:
        return "charge"
    return None


@dataclass(frozen=True)
class Check:
    """What QC decides about one record without memory: a failed rule, else its dedup keys and caption flag.

    Why apart from `QualityControl`: a pure function of the record, the config and its molecule's facts, it
    runs in the build worker that made the record; the main process then only deduplicates (`admit`)."""

    reason: str | None = None
    exact: tuple | None = None
    near: tuple | None = None
    caption_flag: str | None = None


def check_record(record: Record, facts_of: Callable[[str], Facts], config: QCConfig, imported: bool) -> Check:
    """The rules of the module docstring up to deduplication (`facts_of`: a SMILES's `molecule_facts`)."""
    m = record.modalities
    scope = question_key(task_for(record.task), record.instruction, record.meta.extra, imported=imported)
    keys = None
    if m.smiles is not None:
        reason, key, block = facts_of(m.smiles)
        if reason:
            return Check(reason)
        keys = ((*scope, key), (*scope, block))
    if m.protein_sequence is not None:
        if not config.min_protein_length <= len(m.protein_sequence) <= config.max_protein_length:
            return Check("protein_length")
        cluster = record.meta.extra.get("cluster")
        if config.protein_redundancy == "drop" and cluster not in (None, record.meta.source_id):
            return Check("redundant_protein")
        if keys is None:  # a protein record: identical sequences are duplicates of one question
            digest = hashlib.sha256(m.protein_sequence.encode()).hexdigest()[:32]
            keys = ((*scope, "protein", digest),) * 2
    if keys is None and record.meta.source_id:  # an imported record naming its subject (CID, protein id)
        keys = ((*scope, "subject", record.meta.source, record.meta.source_id),) * 2
    flag = _caption_flag(m.caption, config) if m.caption is not None else None
    exact, near = keys or (None, None)
    return Check(None, exact, near, flag)


def _caption_flag(caption: str, config: QCConfig) -> str | None:
    if len(caption.split()) < config.min_caption_words:
        return "short_caption"
    return "boilerplate_caption" if _BOILERPLATE.search(caption) else None


class QualityControl:
    """Applies the rules to a stream of records; remembers kept molecules for deduplication."""

    def __init__(self, config: QCConfig | None = None) -> None:
        self.config = config or QCConfig()
        self.report = QCReport()
        self._exact: set[tuple] = set()
        self._near: set[tuple] = set()
        self._facts: dict[str, Facts] = {}
        self._new_exact: list[tuple] = []
        self._new_near: list[tuple] = []

    def take_new_keys(self) -> dict[str, list[list[str]]]:
        """The dedup keys added since the last call (JSON-ready): what a resumable build journals per chunk."""
        new = {"exact": [list(k) for k in self._new_exact], "near": [list(k) for k in self._new_near]}
        self._new_exact, self._new_near = [], []
        return new

    def restore(self, report: dict, journal: Iterable[dict[str, list[list[str]]]]) -> None:
        """Continue a resumed build: its cumulative report and every journalled key set, in order."""
        self.report = QCReport(report["seen"], report["kept"], Counter(report["dropped"]), Counter(report["flagged"]),
                               report["examples"])
        for keys in journal:
            self._exact.update(tuple(k) for k in keys["exact"])
            self._near.update(tuple(k) for k in keys["near"])

    def filter(self, records: Iterable[Record], facts: dict[str, Facts] | None = None, *,
               imported: bool = False) -> list[Record]:
        """The records that pass, in order; every other one is counted in `report`.

        `facts` (from `molecule_facts`, computed where the records were built, e.g. in a worker)
        spare this process the parsing, which would otherwise make it the bottleneck of a parallel build.
        `imported`: the records come from another project's files (their question is their instruction).
        """
        if facts:
            self._facts.update(facts)
        return [r for r in records if self.admit(r.id, check_record(r, self._molecule, self.config, imported))]

    def admit(self, record_id: str, check: Check) -> bool:
        """Count a record by its `check` and the keys kept before it; True when it is kept (its keys are then kept)."""
        self.report.seen += 1
        reason = check.reason
        if reason is None:
            if check.caption_flag:
                self.report.note(self.report.flagged, check.caption_flag, record_id)
            if check.exact is not None and check.near is not None:
                reason = self._dedup(record_id, check.exact, check.near)
        if reason is not None:
            self.report.note(self.report.dropped, reason, record_id)
            return False
        self.report.kept += 1
        return True

    def _molecule(self, smiles: str) -> tuple[str | None, str, str]:
        """Facts of a SMILES, memoised: a molecule usually comes with several task records."""
        if smiles not in self._facts:
            if len(self._facts) >= _FACTS_LIMIT:
                self._facts.clear()
            self._facts[smiles] = molecule_facts(to_mol_or_none(smiles), self.config)
        return self._facts[smiles]

    def drop(self, record_id: str, reason: str) -> None:
        """Count a record the caller drops before QC sees it (e.g. one without a published split)."""
        self.report.seen += 1
        self.report.note(self.report.dropped, reason, record_id)

    def _dedup(self, record_id: str, exact: tuple, near: tuple) -> str | None:
        if exact in self._exact:
            return "duplicate"
        if near in self._near and self.config.near_duplicates != "keep":
            if self.config.near_duplicates == "drop":
                return "near_duplicate"
            self.report.note(self.report.flagged, "near_duplicate", record_id)
        self._exact.add(exact)
        self._new_exact.append(exact)
        if near not in self._near:
            self._near.add(near)
            self._new_near.append(near)
        return None

"""Leakage audit between two splits or corpora: which records of B already occur in A, and by what key.

Keys: the standard InChIKey (the same molecule), its connectivity block (the first 14
characters: the same skeleton, ignoring stereo, isotopes and charge, so stereoisomers and
charge states count), the caption string (identical text after trimming), the protein sequence,
and, for imported records with neither a molecule nor a protein, the subject they name (a
PubChem CID, a protein id). Any split can be audited, including a dataset's published split
kept by `split.method: keep`. Counts are of
*records of B* whose key occurs anywhere in A, as ../shared/REFERENCE.md §D counts them; each
shared record is listed with its key so a user can remove or inspect it. Molecules that do not
parse (or have no InChI) are counted per side and take part in no molecule key; blank captions
take part in no caption key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from molbridge.chem.batch import map_molecules
from molbridge.chem.parse import connectivity_block, to_inchikey
from molbridge.data.splits import SPLITS
from molbridge.errors import FileFormatError

TABLE_SUFFIXES = (".txt", ".tsv", ".csv")


@dataclass(frozen=True)
class AuditItem:
    """One record to audit: an id, its SMILES, caption, protein sequence and subject id (any may be empty)."""

    id: str
    smiles: str
    caption: str
    protein: str = ""
    subject: str = ""  # what an imported record names when it carries no molecule or protein (source:CID)


@dataclass(frozen=True)
class Shared:
    """A record of B whose key occurs in A, and the ids of A that share it."""

    id: str
    key: str
    in_a: list[str]


@dataclass
class AuditReport:
    """Counts (records of B whose key occurs in A) and the shared records, per key."""

    n_a: int
    n_b: int
    identical_inchikey: int
    shared_connectivity: int
    identical_caption: int
    identical_protein: int
    identical_subject: int
    distinct_shared_blocks: int
    invalid_molecules_a: int
    invalid_molecules_b: int
    shared: dict[str, list[Shared]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _keys(items: Sequence[AuditItem]) -> tuple[list[str | None], list[str | None], list[str | None], int]:
    """Per item: InChIKey, connectivity block, caption key (None where absent); and invalid molecules."""
    with_smiles = [i for i, item in enumerate(items) if item.smiles.strip()]
    result = map_molecules(to_inchikey, [items[i].smiles for i in with_smiles])
    inchikeys: list[str | None] = [None] * len(items)
    for i, key in zip(with_smiles, result.values):
        inchikeys[i] = key
    blocks = [connectivity_block(k) if k else None for k in inchikeys]
    captions = [item.caption.strip() or None for item in items]
    return inchikeys, blocks, captions, result.n_failed


def _shared(b_items: Sequence[AuditItem], a_items: Sequence[AuditItem], a_keys: list[str | None],
            b_keys: list[str | None]) -> list[Shared]:
    by_key: dict[str, list[str]] = {}
    for item, key in zip(a_items, a_keys):
        if key is not None:
            by_key.setdefault(key, []).append(item.id)
    return [Shared(item.id, key, by_key[key]) for item, key in zip(b_items, b_keys, strict=True)
            if key is not None and key in by_key]


def audit(a: Sequence[AuditItem], b: Sequence[AuditItem]) -> AuditReport:
    """Overlap of B with A by InChIKey, connectivity block and caption."""
    a_inchikey, a_block, a_caption, a_invalid = _keys(a)
    b_inchikey, b_block, b_caption, b_invalid = _keys(b)
    shared = {
        "identical_inchikey": _shared(b, a, a_inchikey, b_inchikey),
        "shared_connectivity": _shared(b, a, a_block, b_block),
        "identical_caption": _shared(b, a, a_caption, b_caption),
        "identical_protein": _shared(b, a, [i.protein or None for i in a], [i.protein or None for i in b]),
        "identical_subject": _shared(b, a, [i.subject or None for i in a], [i.subject or None for i in b]),
    }
    return AuditReport(
        n_a=len(a), n_b=len(b),
        identical_inchikey=len(shared["identical_inchikey"]),
        shared_connectivity=len(shared["shared_connectivity"]),
        identical_caption=len(shared["identical_caption"]),
        identical_protein=len(shared["identical_protein"]),
        identical_subject=len(shared["identical_subject"]),
        distinct_shared_blocks=len({s.key for s in shared["shared_connectivity"]}),
        invalid_molecules_a=a_invalid, invalid_molecules_b=b_invalid, shared=shared,
    )


def read_items(path: str | Path) -> list[AuditItem]:
    """Records to audit: a ChEBI-20 table (`.txt`, `.tsv`), a ChEBI-20-MM table (`.csv`), or one split of a
    `molbridge data build` output written `DIR:SPLIT` (e.g. `runs/mini:test`), one item per distinct molecule
    or caption record."""
    from molbridge.data.sources.chebi20 import read_chebi20, read_chebi20_mm

    text = str(path)
    directory, _, split = text.rpartition(":")
    if split in SPLITS and directory and (Path(directory) / "data").is_dir():
        return _build_items(Path(directory), split)
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise FileFormatError(str(path), None, f"cannot audit a {path.suffix or 'suffix-less'} file; expected a "
                              "ChEBI-20 table (.txt/.tsv), a ChEBI-20-MM table (.csv) or a build split DIR:SPLIT")
    records = read_chebi20_mm(path) if path.suffix.lower() == ".csv" else read_chebi20(path)
    return [AuditItem(r.cid, r.smiles, r.description) for r in records]


def _build_items(directory: Path, split: str) -> list[AuditItem]:
    from molbridge.data.parquet_io import read_shard

    shards = sorted((directory / "data").glob(f"{split}-*.parquet"))
    if not shards:
        raise FileFormatError(str(directory), None, f"no {split} shards in this build")
    items: dict[tuple[str, str, str, str], AuditItem] = {}
    for shard in shards:
        for record in read_shard(shard):
            m = record.modalities
            subject = "" if m.smiles or m.protein_sequence or not record.meta.source_id else \
                f"{record.meta.source}:{record.meta.source_id}"
            item = AuditItem(record.id, m.smiles or "", m.caption or "", m.protein_sequence or "", subject)
            if m.smiles or m.caption or m.protein_sequence or subject:
                items.setdefault((item.smiles, item.caption, item.protein, subject), item)
    return list(items.values())

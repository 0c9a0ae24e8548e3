"""Train/validation/test splits that keep every molecule (or scaffold) on one side, decided per record.

A record's split is a hash of its group key and a seed, mapped onto the cumulative fractions,
so the same record lands in the same split whatever the chunking, the worker count or a resume
point, and no global pass is needed (a streaming build cannot hold every molecule).
- `random`: the group is the molecule (InChIKey connectivity block), so all tasks about a
  molecule, and its stereoisomers, share a split: no molecule leaks from train to test.
- `scaffold`: the group is the Bemis–Murcko scaffold; molecules without a ring (an empty
  scaffold) are grouped by themselves, or every acyclic molecule would land in one split.
  Fractions hold in expectation over scaffolds, not exactly over records.
- `cluster`: proteins are grouped by their sequence cluster (`meta.extra["cluster"]`, from a
  source with clustering on: MMseqs2 at 50% identity by default), so no two splits share a
  homologous protein; molecules are grouped as in `random`. `scaffold` groups clustered
  proteins by cluster too (the structure-aware split for both kinds of record).
- `keep`: every record keeps the split its dataset published (imported files); records without one
  are dropped and counted.
Records without a molecule are grouped by their protein cluster or sequence, else by the subject
they name (a PubChem CID, a protein id), else by their own id. A text task's record (`split_group:
document`) is grouped by the one key its source's subject sets, `meta.extra["document"]`
(`tasks.documents.DOCUMENT`): `pmid:<PMID>` for an abstract (PubTator, BioC, ChemProt) and for a
question about one, `question:<content hash>` for a question without a PMID. So an abstract annotated
in two corpora (BC5CDR and ChemProt) or asked about in a question file is on one side of every split,
and the same question under two ids (or in two files) is too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from rdkit import Chem

from molbridge.chem.parse import connectivity_block, to_inchikey, to_mol
from molbridge.chem.scaffolds import murcko_scaffold
from molbridge.errors import InvalidMolecule, MolbridgeError
from molbridge.records import Record
from molbridge.tasks import task_for
from molbridge.tasks.documents import DOCUMENT

METHODS = ("random", "scaffold", "cluster", "keep")
SPLITS = ("train", "validation", "test")
_PUBLISHED = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
              "val": "validation", "dev": "validation", "test": "test"}


class SplitError(MolbridgeError, ValueError):
    """Split settings that cannot work (unknown method, fractions that are not a distribution)."""


def check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    if len(fractions) != len(SPLITS) or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise SplitError(f"fractions must be {len(SPLITS)} non-negative numbers summing to 1, got {list(fractions)}")
    return tuple(fractions)


def check_method(method: str) -> None:
    if method not in METHODS:
        raise SplitError(f"unknown split method {method!r}; expected one of {', '.join(METHODS)}")


def molecule_group(mol: Chem.Mol, method: str, block: str | None = None) -> str:
    """The group of a parsed molecule: its connectivity block (pass it when known), or its scaffold
    (own block if acyclic)."""
    molecule = "mol:" + (block or connectivity_block(to_inchikey(mol)))
    if method in ("random", "cluster"):
        return molecule
    scaffold = murcko_scaffold(mol)
    return "scaffold:" + scaffold if scaffold else molecule


def group_key(record: Record, method: str, groups: dict[str, str] | None = None) -> str:
    """What must not be divided between splits: the molecule (or scaffold), the protein (or its cluster), or
    the subject a record names, in the order its task declares (`Task.split_group`).

    `groups` maps SMILES to precomputed molecule groups (from `molecule_group`, e.g. computed in
    the worker that built the records) and is filled with the ones computed here. A record with
    neither a molecule nor a protein (an imported record naming a PubChem CID or a protein id) is
    grouped by that id; only a record with nothing to go by is grouped by itself.
    """
    check_method(method)
    split_group = task_for(record.task).split_group
    if split_group == "document" and record.meta.extra.get(DOCUMENT):
        return f"document:{record.meta.extra[DOCUMENT]}"
    order = (_molecule, _protein) if split_group == "molecule" else (_protein, _molecule)
    for by in order:
        found = by(record, method, groups)
        if found:
            return found
    if record.meta.source_id:
        return f"subject:{record.meta.source}:{record.meta.source_id}"
    return "record:" + record.id


def _molecule(record: Record, method: str, groups: dict[str, str] | None) -> str | None:
    smiles = record.modalities.smiles
    if not smiles:
        return None
    if groups is not None and smiles in groups:
        return groups[smiles]
    try:
        group = molecule_group(to_mol(smiles), method)
    except InvalidMolecule:
        return None  # QC drops invalid molecules; a kept record falls back to its other keys
    if groups is not None:
        groups[smiles] = group
    return group


def _protein(record: Record, method: str, groups: dict[str, str] | None) -> str | None:
    sequence, cluster = record.modalities.protein_sequence, record.meta.extra.get("cluster")
    if sequence and method in ("scaffold", "cluster") and cluster:
        return "cluster:" + cluster
    return "protein:" + hashlib.sha256(sequence.encode()).hexdigest()[:32] if sequence else None


def published_split(name: str | None) -> str | None:
    """A dataset's own split name as one of SPLITS (valid/val/dev → validation), or None."""
    return _PUBLISHED.get((name or "").strip().lower())


def split_of(key: str, fractions: Sequence[float], seed: int = 0) -> str:
    """The split of a group key: its hash as a number in [0, 1) against the cumulative fractions."""
    digest = hashlib.sha256(f"{seed}\x1f{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    total = 0.0
    for name, fraction in zip(SPLITS, fractions):
        total += fraction
        if u < total:
            return name
    return SPLITS[-1]


def record_split(record: Record, method: str, fractions: Sequence[float], seed: int = 0,
                 groups: dict[str, str] | None = None) -> str:
    """The split of one record by its group (`groups`: precomputed molecule groups, filled, see `group_key`)."""
    return split_of(group_key(record, method, groups), fractions, seed)


def assign_splits(records: Iterable[Record], method: str = "random", fractions: Sequence[float] = (0.8, 0.1, 0.1),
                  seed: int = 0, groups: dict[str, str] | None = None) -> list[Record]:
    """Copies of `records` with `meta.split` set (`groups`: precomputed molecule groups, see `group_key`)."""
    fractions = check_fractions(fractions)
    check_method(method)
    if method == "keep":
        raise SplitError("split method 'keep' keeps published splits; there is nothing to assign")
    groups = dict(groups or {})
    out = []
    for record in records:
        split = record_split(record, method, fractions, seed, groups)
        out.append(record.model_copy(update={"meta": record.meta.model_copy(update={"split": split})}))
    return out

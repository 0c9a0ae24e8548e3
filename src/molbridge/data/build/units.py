"""What one unit of build work is: a chunk of source items turned into records, as a pure function.

The main process reads each source as a stream and cuts it into chunks; `build_chunk` turns a
chunk into records (parsing, SELFIES, InChI, descriptors: the costly part) anywhere, in this
process, a local worker or a Dask worker, and returns them as an Arrow table of Parquet rows with
their splits, what QC decides about each without memory, the items it could not use (with the
reason, never raised) and per-molecule descriptors for the dataset card. Why rows and not records:
the main process (one core, shared with the workers) is left with deduplication and writing, and
an Arrow table crosses processes as a few buffers where records are pickled one object at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from molbridge.chem.descriptors import descriptors_of
from molbridge.chem.parse import to_mol_or_none
from molbridge.chem.xtb import XTBError
from molbridge.data.build.config import SplitSettings, import_plugins
from molbridge.data.formats.common import Problem
from molbridge.data.parquet_io import records_table
from molbridge.data.qc import Check, Facts, QCConfig, check_record, molecule_facts
from molbridge.data.sources.reading import Reading
from molbridge.data.splits import molecule_group, published_split, record_split
from molbridge.errors import InvalidMolecule
from molbridge.records import Conformer, Record, RecordError
from molbridge.tasks import SOURCES, TASKS, Source, SourceOptions
from molbridge.tasks.phrasing import use_phrasings_dir

STATS = ("mol_weight", "bertz_complexity", "heavy_atoms", "rings")


def sssr_size(mol) -> int:
    """Rings as the cyclomatic number (bonds − atoms + fragments), the size of the SSSR.

    Why not `Descriptors.rings` (RDKit's RingCount): RDKit counts a symmetrised ring set, which
    explodes for macrocycles (γ-cyclodextrin: 264 "rings" for 8 pyranoses and 1 macrocycle) and would
    wreck the plot.
    """
    from rdkit import Chem

    return mol.GetNumBonds() - mol.GetNumAtoms() + len(Chem.GetMolFrags(mol))


@dataclass
class ChunkResult:
    """A built chunk as the main process needs it: rows to filter and write, checks to deduplicate, what failed."""

    table: pa.Table  # the records as shard rows; meta.split: assigned (None: QC drops it), or published under `keep`
    checks: list[Check]  # per row: QC's rules up to deduplication, which the main process applies in order
    problems: list[Problem]
    molecules: dict[str, tuple[float, ...]]  # SMILES → STATS, for the card


def source_items(options: SourceOptions, reading: Reading) -> Iterator[Any]:
    """The source's items in a fixed order, at most `limit` (a resumed build skips the ones already built)."""
    return itertools.islice(SOURCES.get(options.kind).read(options, reading), options.limit)


def item_records(source: Source, options: SourceOptions, item: Any) -> tuple[list[Record], list[str], dict[str, Any]]:
    """The records of one item (its subjects written by each requested task, or the imported record itself),
    why any task could not write its records (`task: reason`): one task's failure (a reagent SELFIES cannot
    encode) costs that task's records only, and the subjects' molecules as read back from their SMILES (by SMILES).

    Raises InvalidMolecule / RecordError / XTBError for an item none of whose records can be made."""
    if source.subjects is None:
        return [item], [], {}
    tasks = [TASKS.get(name) for name in options.tasks]
    records, failed, molecules = [], [], {}
    for subject in source.subjects(item, options):
        if subject.stored is not None and subject.modalities.smiles:
            molecules[subject.modalities.smiles] = subject.stored
        for task in tasks:
            try:
                records += task.records(subject)
            except (InvalidMolecule, RecordError) as err:
                failed.append(f"{task.name}: {err}")
    return records, failed, molecules


def _with_conformers(records: list[Record], deadline_s: float, problems: list[Problem]) -> list[Record]:
    """Records with an ETKDGv3 + MMFF94 conformer for each molecule; failures are problems, records are kept.

    Embedding runs in a worker process killed at the hard deadline; where this process may not
    start children (a daemonic Dask worker) it runs here, bounded by RDKit's own timeout only.
    """
    from molbridge.chem.conformers import ConformerError, ConformerRunner, Geometry, embed_conformer

    smiles = sorted({r.modalities.smiles for r in records if r.modalities.smiles and r.modalities.conformer is None})
    geometries: dict[str, Geometry | str | None] = {}  # a geometry, or why there is none
    try:
        for result in ConformerRunner(1, deadline_s=deadline_s).run(smiles):
            geometries[result.smiles] = result.geometry or result.cause
    except AssertionError:  # "daemonic processes are not allowed to have children"
        for text in smiles:
            try:
                geometries[text] = embed_conformer(text)
            except ConformerError as err:
                geometries[text] = err.cause
    out = []
    for record in records:
        found = geometries.get(record.modalities.smiles) if record.modalities.smiles else None
        if isinstance(found, str):
            problems.append(Problem(f"record {record.id}", f"no conformer ({found}); kept without one"))
        elif found is not None:
            conformer = Conformer(atoms=found.atoms, coords=found.coords, energy=found.energy, method=found.method)
            record = record.model_copy(update={"modalities": record.modalities.model_copy(
                update={"conformer": conformer})})
        out.append(record)
    return out


def _judge(smiles: str, mol: Any, inchi: str | None, qc: QCConfig, split_method: str, facts: dict[str, Facts],
           groups: dict[str, str], molecules: dict[str, tuple[float, ...]]) -> None:
    """QC facts, split group and card statistics of one molecule (None: its SMILES does not parse)."""
    found = facts[smiles] = molecule_facts(mol, qc, inchi)
    if mol is not None:
        if found[0] is None:
            groups[smiles] = molecule_group(mol, split_method, found[2])
        d = descriptors_of(smiles, mol)
        molecules[smiles] = (d.mol_weight, d.bertz_complexity, d.heavy_atoms, sssr_size(mol))


def _split(record: Record, check: Check, split: SplitSettings, groups: dict[str, str]) -> str | None:
    """The published split under `keep` (None: it has none), else the assigned one (None: QC drops the record)."""
    if split.method == "keep":
        return published_split(record.meta.split)
    return None if check.reason else record_split(record, split.method, split.fractions, split.seed, groups)


def build_chunk(options: SourceOptions, items: list[Any], qc: QCConfig, split: SplitSettings,
                phrasings_dir: str | None = None, plugins: tuple[str, ...] = ()) -> ChunkResult:
    """Records of a chunk of items as shard rows with their splits and QC checks, from QC facts, split groups and
    card statistics of their molecules (the molecule a subject read back from its SMILES; parsed here only for
    imported records), with conformers when the source entry asks for them.

    Every failing item becomes a Problem; the others are kept. Runs in any process: plugins and the
    phrasing directory are set up here.
    """
    import_plugins(list(plugins))
    use_phrasings_dir(phrasings_dir)
    source = SOURCES.get(options.kind)
    records: list[Record] = []
    problems: list[Problem] = []
    facts: dict[str, Facts] = {}
    groups: dict[str, str] = {}
    molecules: dict[str, tuple[float, ...]] = {}
    for item in items:
        try:
            made, failed, read_back = item_records(source, options, item)
        except (InvalidMolecule, RecordError, XTBError) as err:
            problems.append(Problem(source.where(item), str(err)))
            continue
        problems += [Problem(source.where(item), reason) for reason in failed]
        records.extend(made)
        for record in made:
            smiles = record.modalities.smiles
            if smiles and smiles not in facts:
                mol = read_back[smiles] if smiles in read_back else to_mol_or_none(smiles)
                _judge(smiles, mol, record.modalities.inchi, qc, split.method, facts, groups, molecules)
    if options.conformers:
        records = _with_conformers(records, options.conformer_deadline_s, problems)

    def facts_of(smiles: str) -> Facts:  # an empty SMILES was never judged above: QC finds it invalid
        return facts[smiles] if smiles in facts else molecule_facts(to_mol_or_none(smiles), qc)

    checks = [check_record(r, facts_of, qc, source.imported) for r in records]
    splits = [_split(r, c, split, groups) for r, c in zip(records, checks)]
    return ChunkResult(records_table(records, splits), checks, problems, molecules)

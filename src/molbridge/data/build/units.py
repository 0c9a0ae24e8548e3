"""What one unit of build work is: a chunk of source items turned into records, as a pure function.

The main process reads each source as a stream and cuts it into chunks; `build_chunk` turns a
chunk into records (parsing, SELFIES, InChI, descriptors: the costly part) anywhere, in this
process, a local worker or a Dask worker, and returns the records, the items it could not use
(with the reason, never raised) and per-molecule descriptors for the dataset card.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from molbridge.chem.descriptors import descriptors_of
from molbridge.chem.parse import to_mol_or_none
from molbridge.chem.xtb import XTBError
from molbridge.data.build.config import import_plugins
from molbridge.data.formats.common import Problem
from molbridge.data.qc import Facts, QCConfig, molecule_facts
from molbridge.data.sources.reading import Reading
from molbridge.data.splits import molecule_group
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
    records: list[Record]
    problems: list[Problem]
    molecules: dict[str, tuple[float, ...]]  # SMILES → STATS, for the card
    facts: dict[str, Facts]  # SMILES → what QC needs, so the main process does not parse
    groups: dict[str, str]  # SMILES → split group (molecule or scaffold)


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


def _judge(result: ChunkResult, smiles: str, mol: Any, inchi: str | None, qc: QCConfig, split_method: str) -> None:
    """QC facts, split group and card statistics of one molecule (None: its SMILES does not parse)."""
    facts = result.facts[smiles] = molecule_facts(mol, qc, inchi)
    if mol is not None:
        if facts[0] is None:
            result.groups[smiles] = molecule_group(mol, split_method, facts[2])
        d = descriptors_of(smiles, mol)
        result.molecules[smiles] = (d.mol_weight, d.bertz_complexity, d.heavy_atoms, sssr_size(mol))


def build_chunk(options: SourceOptions, items: list[Any], qc: QCConfig, split_method: str,
                phrasings_dir: str | None = None, plugins: tuple[str, ...] = ()) -> ChunkResult:
    """Records of a chunk of items, with QC facts, split groups and card statistics of their molecules
    (from the molecule a subject read back from its SMILES; parsed here only for imported records), and
    conformers when the source entry asks for them.

    Every failing item becomes a Problem; the others are kept. Runs in any process: plugins and the
    phrasing directory are set up here.
    """
    import_plugins(list(plugins))
    use_phrasings_dir(phrasings_dir)
    source = SOURCES.get(options.kind)
    result = ChunkResult([], [], {}, {}, {})
    for item in items:
        try:
            records, failed, molecules = item_records(source, options, item)
        except (InvalidMolecule, RecordError, XTBError) as err:
            result.problems.append(Problem(source.where(item), str(err)))
            continue
        result.problems += [Problem(source.where(item), reason) for reason in failed]
        result.records.extend(records)
        for record in records:
            smiles = record.modalities.smiles
            if smiles and smiles not in result.facts:
                _judge(result, smiles, molecules[smiles] if smiles in molecules else to_mol_or_none(smiles),
                       record.modalities.inchi, qc, split_method)
    if options.conformers:
        result.records = _with_conformers(result.records, options.conformer_deadline_s, result.problems)
    return result

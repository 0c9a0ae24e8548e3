"""What one unit of build work is: a chunk of source items turned into records, as a pure function.

The main process reads each source as a stream and cuts it into chunks; `build_chunk` turns a
chunk into records (parsing, SELFIES, InChI, descriptors: the costly part) anywhere, in this
process, a local worker or a Dask worker, and returns the records, the items it could not use
(with the reason, never raised) and per-molecule descriptors for the dataset card.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from molbridge.chem.descriptors import descriptors_of
from molbridge.chem.xtb import XTBError
from molbridge.data.build.config import SourceConfig
from molbridge.data.formats.common import Problem
from molbridge.data.qc import Facts, QCConfig, molecule_facts, to_mol_or_none
from molbridge.data.records import Conformer, Record, RecordError
from molbridge.data.splits import molecule_group
from molbridge.data.tasks.phrasing import use_phrasings_dir
from molbridge.errors import InvalidMolecule

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


def license_of(kind: str) -> str:
    """The licence a source's records carry."""
    if kind == "import":
        return "as recorded in each imported record"
    module = {"qm9": "qm9", "moses": "moses", "chebi_classes": "c3p", "b3db": "b3db", "chebi20": "chebi20",
              "uniprot_go": "uniprot_go", "swissprot": "swissprot"}[kind]
    return importlib.import_module(f"molbridge.data.sources.{module}").LICENSE


def source_items(source: SourceConfig, problems: list[Problem]) -> Iterator[Any]:
    """The source's items in a fixed order (a resumed build skips the ones already built)."""
    if source.kind == "qm9":
        from molbridge.data.sources.qm9 import read_qm9
        items = read_qm9(source.path, problems=problems)
    elif source.kind == "moses":
        from molbridge.data.sources.moses import iter_moses
        items = iter_moses(source.path)
    elif source.kind == "import":
        items = _imported(source, problems)
    elif source.kind == "swissprot":
        from molbridge.data.sources.swissprot import read_swissprot
        items = read_swissprot(source.path, structures=source.structures, problems=problems)
    elif source.kind == "uniprot_go":
        from molbridge.data.fetch import uniprot_go_paths
        from molbridge.data.sources.uniprot_go import read_uniprot_go
        items = read_uniprot_go(*uniprot_go_paths(), problems=problems)
        if source.cluster is not None:  # clustering needs every protein at once: read the (limited) source first
            from molbridge.data.sources.uniprot_go import clustered
            c = source.cluster
            items = iter(clustered(list(itertools.islice(items, source.limit)), min_seq_id=c.min_seq_id,
                                   coverage=c.coverage, method=c.method)[0])
    elif source.kind == "chebi_classes":
        from molbridge.data.sources.c3p import read_chebi_classes
        items = ((klass, name, smiles) for klass in read_chebi_classes(source.path, problems=problems)
                 for name, smiles in klass.members)
    elif source.kind == "b3db":
        from molbridge.data.sources.b3db import read_b3db
        items = read_b3db(source.path, problems=problems)
    else:
        from molbridge.data.sources.chebi20 import read_chebi20
        items = iter(read_chebi20(Path(source.path)))
    for count, item in enumerate(items):
        if source.limit is not None and count >= source.limit:
            return
        yield item


def _imported(source: SourceConfig, problems: list[Problem]) -> Iterator[Record]:
    """Records of a Mol-Instructions / 3D-MoIT / SEPIT / SMolInstruct file, filtered by task."""
    module = importlib.import_module(f"molbridge.data.formats.{source.format}")
    imported = getattr(module, f"read_{source.format}")(source.path)
    problems.extend(imported.problems)
    keep_all = "*" in source.tasks
    return (r for r in imported.records if keep_all or r.task in source.tasks)


def _where(kind: str, item: Any) -> str:
    """Where an item comes from, for the problem report."""
    if kind == "chebi_classes":
        klass, name, _ = item
        return f"{klass.where} ({name})"
    if kind == "chebi20":
        return f"CID {item.cid} (line {item.line})"
    if kind == "import":
        return f"record {item.id}"
    if kind == "moses":
        return f"MOSES train.csv.gz:{item[0]}"
    return item.where


def _records(kind: str, tasks: tuple[str, ...], item: Any, quantum: str = "qm9") -> list[Record]:
    """The records of one item; raises InvalidMolecule / RecordError for a bad one."""
    if kind == "import":
        return [item]
    if kind == "uniprot_go":
        from molbridge.data.tasks.protein import protein_records
        return protein_records(item, tasks)
    if kind == "swissprot":
        from molbridge.data.tasks.protein import swissprot_records
        return swissprot_records(item, tasks)
    if kind == "qm9":
        from molbridge.data.tasks.properties import qm9_records
        return qm9_records(item, tasks, quantum)
    if kind == "moses":
        from molbridge.data.sources.moses import LICENSE
        from molbridge.data.tasks.properties import molecule_records
        number, smiles = item
        return molecule_records(f"moses:{number}", smiles, {"source": "moses", "source_id": str(number),
                                                            "license": LICENSE})
    if kind == "chebi_classes":
        from molbridge.data.tasks.descriptions import class_member_records
        klass, name, smiles = item
        return class_member_records(klass, name, smiles, tasks)
    if kind == "b3db":
        from molbridge.data.tasks.translation import translation_records
        return translation_records(item, tasks)
    from molbridge.data.sources.chebi20 import LICENSE
    from molbridge.data.tasks.descriptions import description_records
    meta = {"source": "chebi20", "source_id": item.cid, "license": LICENSE}
    return description_records(f"chebi20:{item.cid}", item.smiles, item.description, meta, tasks)


def _with_conformers(records: list[Record], deadline_s: float, problems: list[Problem]) -> list[Record]:
    """Records with an ETKDGv3 + MMFF94 conformer for each molecule; failures are problems, records are kept.

    Embedding runs in a worker process killed at the hard deadline; where this process may not
    start children (a daemonic Dask worker) it runs here, bounded by RDKit's own timeout only.
    """
    from molbridge.chem.conformers import ConformerError, ConformerRunner, embed_conformer

    smiles = sorted({r.modalities.smiles for r in records if r.modalities.smiles and r.modalities.conformer is None})
    geometries: dict[str, Any] = {}
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
        found = geometries.get(record.modalities.smiles)
        if isinstance(found, str):
            problems.append(Problem(f"record {record.id}", f"no conformer ({found}); kept without one"))
        elif found is not None:
            conformer = Conformer(atoms=found.atoms, coords=found.coords, energy=found.energy, method=found.method)
            record = record.model_copy(update={"modalities": record.modalities.model_copy(
                update={"conformer": conformer})})
        out.append(record)
    return out


def build_chunk(kind: str, tasks: tuple[str, ...], items: list[Any], qc: QCConfig, split_method: str,
                phrasings_dir: str | None = None, conformer_deadline_s: float | None = None,
                quantum: str = "qm9") -> ChunkResult:
    """Records of a chunk of items, with QC facts, split groups and card statistics of their molecules
    (one parse each), and conformers when `conformer_deadline_s` is set.

    Every failing item becomes a Problem; the others are kept.
    """
    use_phrasings_dir(phrasings_dir)  # set in whichever process runs the chunk
    result = ChunkResult([], [], {}, {}, {})
    for item in items:
        try:
            records = _records(kind, tasks, item, quantum)
        except (InvalidMolecule, RecordError, XTBError) as err:
            result.problems.append(Problem(_where(kind, item), str(err)))
            continue
        result.records.extend(records)
        inchis = {r.modalities.smiles: r.modalities.inchi for r in records if r.modalities.smiles}
        for smiles in inchis.keys() - result.facts.keys():
            mol = to_mol_or_none(smiles)
            facts = result.facts[smiles] = molecule_facts(mol, qc, inchis[smiles])
            if mol is not None and facts[0] is None:
                result.groups[smiles] = molecule_group(mol, split_method, facts[2])
            if mol is not None:
                d = descriptors_of(smiles, mol)
                result.molecules[smiles] = (d.mol_weight, d.bertz_complexity, d.heavy_atoms, sssr_size(mol))
    if conformer_deadline_s is not None:
        result.records = _with_conformers(result.records, conformer_deadline_s, result.problems)
    return result

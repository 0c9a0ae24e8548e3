"""Sources that import other projects' instruction files as they are: Mol-Instructions, 3D-MoIT, SEPIT, SMolInstruct.

An imported record keeps its published texts, task name and split (`split.method: keep` keeps the
split). What makes splits leak-free is knowing which molecule or protein a record is about:
Mol-Instructions records carry it (SELFIES, protein sequences in the input); a 3D-MoIT record only
names a PubChem CID, so a CID → SMILES table (`cid_table`, e.g. PubChem's CID-SMILES) adds the
molecule; a SEPIT record names a protein id, so an id → sequence file (`sequences`, FASTA or two
columns) adds the sequence. Without those tables records are grouped by CID / protein id, still
keeping every record of one subject on one side.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterator
from typing import Literal

from pydantic import ValidationError

from molbridge.data.formats import moit3d, mol_instructions, sepit, smolinstruct
from molbridge.data.formats.common import Imported, Problem
from molbridge.data.sources.reading import ExistingPath, Reading
from molbridge.errors import FileFormatError
from molbridge.records import Modalities, Record
from molbridge.tasks import SOURCES, Source, SourceOptions


class ImportOptions(SourceOptions):
    path: ExistingPath  # the file to import
    # the split this whole file was published as (3D-MoIT and SEPIT name it in their file names); it replaces
    # the records' own, for `split.method: keep`
    split: Literal["train", "validation", "test"] | None = None


class MoIT3DOptions(ImportOptions):
    cid_table: ExistingPath | None = None  # CID → SMILES: two columns (TSV or CSV, optional header, .gz ok)

    def joins(self) -> frozenset[str]:
        return frozenset({"smiles"}) if self.cid_table else frozenset()


class SEPITOptions(ImportOptions):
    task: str = "protein_qa"  # the task name of the file's records
    sequences: ExistingPath | None = None  # protein id → sequence: FASTA, or two columns (TSV or CSV)
    structures: ExistingPath | None = None  # SEPIT-Data's pdb.h5: id → sequence and Cα positions

    def joins(self) -> frozenset[str]:
        joined = {"protein_sequence"} if self.sequences or self.structures else set()
        return frozenset(joined | ({"protein_coords"} if self.structures else set()))


class SMolInstructOptions(ImportOptions):
    task: str | None = None  # the task of records without a `task` field


def _lines(path: str) -> Iterator[str]:
    """The file's lines, streamed (a PubChem CID-SMILES table has ~100 M of them)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield line.rstrip("\n")


def two_column_table(path: str, wanted: set[str]) -> dict[str, str]:
    """`first column → second column` of a TSV or CSV file, for the `wanted` keys only (the table is streamed);
    a header line is skipped."""
    table: dict[str, str] = {}
    delimiter = None
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        delimiter = delimiter or ("\t" if "\t" in line else ",")
        row = next(csv.reader([line], delimiter=delimiter))
        if len(row) < 2:
            raise FileFormatError(path, number, f"expected two columns, found {len(row)}")
        if row[0].strip() in wanted:
            table[row[0].strip()] = row[1].strip()
    if delimiter is None:
        raise FileFormatError(path, None, "empty table")
    return table


def fasta_or_table(path: str, wanted: set[str]) -> dict[str, str]:
    """Sequences of the `wanted` ids from a FASTA file (id = the first word of the title) or a two-column table."""
    if not next(_lines(path), "").startswith(">"):
        return two_column_table(path, wanted)
    sequences: dict[str, list[str]] = {}
    current = None
    for line in _lines(path):
        if line.startswith(">"):
            name = line[1:].split()[0] if line[1:].split() else ""
            current = name if name in wanted else None
            if current is not None:
                sequences[current] = []
        elif current is not None:
            sequences[current].append(line.strip())
    return {name: "".join(parts) for name, parts in sequences.items()}


def _kept(imported: Imported, options: ImportOptions, reading: Reading) -> Iterator[Record]:
    """The records of the configured tasks (our name or the one the file published), each with the file's
    published split when the config names one."""
    reading.problems.extend(imported.problems)
    keep_all = "*" in options.tasks
    for record in imported.records:
        if keep_all or record.task in options.tasks or record.meta.extra.get("published_task") in options.tasks:
            yield record.model_copy(update={"meta": record.meta.model_copy(update={"split": options.split})}) \
                if options.split else record


def _joined(records: list[Record], table: dict[str, str], modality: str, reading: Reading,
            missing: str, *, as_input: bool = False) -> Iterator[Record]:
    """Records with `modality` looked up by their source id in `table` (and as their input, when `as_input`:
    a 3D-MoIT question is asked about the molecule, not its CID); ids absent from it are counted, a value
    the record schema refuses (a sequence with a stop '*') is a problem and the record is kept without it."""
    for record in records:
        found = table.get(record.meta.source_id or "")
        if found is None:
            reading.counts[missing] += 1
            yield record
            continue
        try:
            modalities = Modalities.model_validate({**record.modalities.model_dump(), modality: found})
        except ValidationError as err:
            reading.problems.append(Problem(f"record {record.id}", f"{modality} of {record.meta.source_id} from the "
                                            f"table refused: {err.errors()[0]['msg']}; kept without it"))
            yield record
            continue
        update: dict = {"modalities": modalities, **({"input": found} if as_input else {})}
        yield record.model_copy(update=update)


def _subjects(records: Iterator[Record]) -> tuple[list[Record], set[str]]:
    kept = list(records)
    return kept, {r.meta.source_id for r in kept if r.meta.source_id}


def _moit3d(options: MoIT3DOptions, reading: Reading) -> Iterator[Record]:
    records = _kept(moit3d.read_moit3d(options.path), options, reading)
    if not options.cid_table:
        return records
    kept, cids = _subjects(records)
    return _joined(kept, two_column_table(options.cid_table, cids), "smiles", reading, "cid_without_smiles",
                   as_input=True)


def _sepit(options: SEPITOptions, reading: Reading) -> Iterator[Record]:
    records = _kept(sepit.read_sepit(options.path, task=options.task), options, reading)
    if options.sequences:
        kept, ids = _subjects(records)
        records = _joined(kept, fasta_or_table(options.sequences, ids), "protein_sequence", reading,
                          "id_without_sequence")
    if options.structures:
        kept, ids = _subjects(records)
        records = _with_structures(kept, options.structures, ids, reading)
    return records


def _with_structures(records: list[Record], path: str, ids: set[str], reading: Reading) -> Iterator[Record]:
    """Records with their protein's sequence and Cα positions from a pdb.h5 file. A structure the file cannot
    give (positions ≠ residues, NaN), one of another sequence than the record's, or one the record schema refuses
    is a problem naming the record, which is kept without it; ids the file lacks are counted."""
    from molbridge.protein.sepit_h5 import read_pdb_h5

    found, refused = read_pdb_h5(path, ids)
    for record in records:
        name = record.meta.source_id or ""
        structure, held = found.get(name), record.modalities.protein_sequence
        if structure is None and name not in refused:
            reading.counts["id_without_structure"] += 1
            yield record
            continue
        reason = refused.get(name)
        if structure is not None and held and held != structure.sequence:
            reason = f"its sequence differs from the record's ({len(structure.sequence)} vs {len(held)} residues)"
        if structure is not None and reason is None:
            try:
                modalities = Modalities.model_validate({**record.modalities.model_dump(),
                                                        "protein_sequence": structure.sequence,
                                                        "protein_coords": structure.coords})
            except ValidationError as err:
                reason = f"refused: {err.errors()[0]['msg']}"
            else:
                yield record.model_copy(update={"modalities": modalities})
                continue
        reading.problems.append(Problem(f"record {record.id}", f"structure {name}: {reason}; kept without it"))
        yield record


def _where(record: Record) -> str:
    return f"record {record.id}"


def _register(name: str, description: str, license: str, options: type[ImportOptions],
              read: Callable[..., Iterator[Record]], remote: str, published_splits: bool) -> None:
    SOURCES.register(Source(name, description, license, options, read=read, where=_where, remote=remote,
                            published_splits=published_splits))


_register("mol_instructions", "Mol-Instructions task files (JSON, molecules as SELFIES)", mol_instructions.LICENSE,
          ImportOptions, lambda o, r: _kept(mol_instructions.read_mol_instructions(o.path), o, r), "mol-instructions",
          published_splits=True)
_register("moit3d", "3D-MoIT instruction files (input = PubChem CID)", moit3d.LICENSE, MoIT3DOptions, _moit3d,
          "3d-moit", published_splits=False)
_register("sepit", "SEPIT conversations (JSONL)", sepit.LICENSE, SEPITOptions, _sepit, "sepit-data",
          published_splits=False)
_register("smolinstruct", "SMolInstruct / LlaSMol records (tagged text)", smolinstruct.LICENSE, SMolInstructOptions,
          lambda o, r: _kept(smolinstruct.read_smolinstruct(o.path, task=o.task), o, r), "smolinstruct",
          published_splits=True)

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
import io
from collections.abc import Callable, Iterator

from molbridge.data.formats import moit3d, mol_instructions, sepit, smolinstruct
from molbridge.data.formats.common import Imported
from molbridge.data.sources.reading import ExistingPath, Reading
from molbridge.data.tables import read_text
from molbridge.errors import FileFormatError
from molbridge.records import Record
from molbridge.tasks import SOURCES, Source, SourceOptions


class ImportOptions(SourceOptions):
    path: ExistingPath  # the file to import


class MoIT3DOptions(ImportOptions):
    cid_table: ExistingPath | None = None  # CID → SMILES: two columns (TSV or CSV, optional header, .gz ok)


class SEPITOptions(ImportOptions):
    task: str = "protein_qa"  # the task name of the file's records
    sequences: ExistingPath | None = None  # protein id → sequence: FASTA, or two columns (TSV or CSV)


class SMolInstructOptions(ImportOptions):
    task: str | None = None  # the task of records without a `task` field


def _lines(path: str) -> list[str]:
    if path.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return handle.read().splitlines()
    return read_text(path).splitlines()


def two_column_table(path: str) -> dict[str, str]:
    """`first column → second column` of a TSV or CSV file; a header line (second field not a value) is skipped."""
    lines = [line for line in _lines(path) if line.strip()]
    if not lines:
        raise FileFormatError(path, None, "empty table")
    delimiter = "\t" if "\t" in lines[0] else ","
    table: dict[str, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter), start=1):
        if len(row) < 2:
            raise FileFormatError(path, number, f"expected two columns, found {len(row)}")
        if number == 1 and row[0].strip().lower() in ("cid", "id", "accession", "entry"):
            continue
        table[row[0].strip()] = row[1].strip()
    return table


def fasta_or_table(path: str) -> dict[str, str]:
    """Sequences by id from a FASTA file (id = the first word of the title) or a two-column table."""
    lines = _lines(path)
    if not any(line.startswith(">") for line in lines[:1]):
        return two_column_table(path)
    sequences: dict[str, list[str]] = {}
    current = None
    for line in lines:
        if line.startswith(">"):
            current = line[1:].split()[0] if line[1:].split() else ""
            sequences[current] = []
        elif current is not None:
            sequences[current].append(line.strip())
    return {name: "".join(parts) for name, parts in sequences.items()}


def _kept(imported: Imported, options: ImportOptions, reading: Reading) -> Iterator[Record]:
    reading.problems.extend(imported.problems)
    keep_all = "*" in options.tasks
    return (r for r in imported.records if keep_all or r.task in options.tasks)


def _with(record: Record, **modalities) -> Record:
    return record.model_copy(update={"modalities": record.modalities.model_copy(update=modalities)})


def _joined(records: Iterator[Record], table: dict[str, str] | None, modality: str, reading: Reading,
            missing: str) -> Iterator[Record]:
    """Records with `modality` looked up by their source id in `table`; ids absent from it are counted."""
    for record in records:
        if table is None:
            yield record
            continue
        found = table.get(record.meta.source_id or "")
        if found is None:
            reading.counts[missing] += 1
            yield record
        else:
            yield _with(record, **{modality: found})


def _moit3d(options: MoIT3DOptions, reading: Reading) -> Iterator[Record]:
    table = two_column_table(options.cid_table) if options.cid_table else None
    records = _kept(moit3d.read_moit3d(options.path), options, reading)
    return _joined(records, table, "smiles", reading, "cid_without_smiles")


def _sepit(options: SEPITOptions, reading: Reading) -> Iterator[Record]:
    table = fasta_or_table(options.sequences) if options.sequences else None
    records = _kept(sepit.read_sepit(options.path, task=options.task), options, reading)
    return _joined(records, table, "protein_sequence", reading, "id_without_sequence")


def _where(record: Record) -> str:
    return f"record {record.id}"


def _register(name: str, description: str, license: str, options: type[ImportOptions],
              read: Callable[..., Iterator[Record]], remote: str) -> None:
    SOURCES.register(Source(name, description, license, options, read=read, where=_where, remote=remote))


_register("mol_instructions", "Mol-Instructions task files (JSON, molecules as SELFIES)", mol_instructions.LICENSE,
          ImportOptions, lambda o, r: _kept(mol_instructions.read_mol_instructions(o.path), o, r), "mol-instructions")
_register("moit3d", "3D-MoIT instruction files (input = PubChem CID)", moit3d.LICENSE, MoIT3DOptions, _moit3d,
          "3d-moit")
_register("sepit", "SEPIT conversations (JSONL)", sepit.LICENSE, SEPITOptions, _sepit, "sepit-data")
_register("smolinstruct", "SMolInstruct / LlaSMol records (tagged text)", smolinstruct.LICENSE, SMolInstructOptions,
          lambda o, r: _kept(smolinstruct.read_smolinstruct(o.path, task=o.task), o, r), "smolinstruct")

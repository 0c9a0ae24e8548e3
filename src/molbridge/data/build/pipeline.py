"""`molbridge data build`: sources → tasks → QC → split → sharded Parquet + dataset card, resumable.

Each source is read as a stream and cut into chunks of `chunk_size` items. Workers (this
process, a local pool or a Dask cluster) turn chunks into rows, each checked by every QC rule but
deduplication and given its split; the main process takes the results in order, deduplicates
(the only stateful rule), writes the chunk's shards
and then a commit file `state/sNN-cNNNNN.json` holding the dedup keys the chunk added, the
cumulative counts and the chunk's molecule statistics. A chunk is done exactly when its commit
file exists. Killed at any moment (even `kill -9`), a rerun with the same config replays the
commit files, skips the committed chunks and rebuilds the first uncommitted one under the same
shard names, so every record ends up in the output exactly once.
"""

from __future__ import annotations

import itertools
import json
import platform
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from molbridge.atomic import write_text
from molbridge.data.build.config import BuildConfig
from molbridge.data.build.executor import run_ordered
from molbridge.data.build.units import ChunkResult, build_chunk, source_items
from molbridge.data.card import write_card
from molbridge.data.parquet_io import write_table
from molbridge.data.qc import QualityControl
from molbridge.data.sources.reading import Reading
from molbridge.data.splits import SPLITS
from molbridge.errors import MolbridgeError
from molbridge.progress import ProgressFn, report

_EXAMPLES = 20  # problems listed per source in the card (all are counted)


class BuildError(MolbridgeError, RuntimeError):
    """A build that cannot start or continue (an output directory of another config)."""


@dataclass
class Committed:
    """What a build has committed: QC report, counts per split and task, problems, molecule stats."""

    counts: dict
    problems: dict
    report: dict | None
    molecules: list
    proteins: list  # lengths of the distinct kept protein sequences


def _read_commits(state_dir: Path, qc: QualityControl) -> tuple[dict[int, int], Committed]:
    """Replay commit files: chunks done per source (consecutive only) and what they committed together."""
    done: dict[int, int] = {}
    committed = Committed({split: {} for split in SPLITS}, {}, None, [], [])
    journal = []
    for path in sorted(state_dir.glob("s[0-9][0-9]-c[0-9][0-9][0-9][0-9][0-9].json")):
        source, chunk = int(path.name[1:3]), int(path.name[5:10])
        if chunk != done.get(source, 0):
            break  # a gap: later files belong to a run that never finished its earlier chunk
        commit = json.loads(path.read_text(encoding="utf-8"))
        journal.append(commit["keys"])
        committed.counts, committed.problems, committed.report = commit["counts"], commit["problems"], commit["report"]
        committed.molecules.extend(commit["molecules"])
        committed.proteins.extend(commit["proteins"])
        done[source] = chunk + 1
    if committed.report is not None:
        qc.restore(committed.report, journal)
    return done, committed


def _check_out_dir(out: Path, config: BuildConfig) -> None:
    marker = out / "state" / "config.json"
    if marker.exists():
        previous = json.loads(marker.read_text(encoding="utf-8"))["fingerprint"]
        if previous != config.fingerprint():
            raise BuildError(f"{out} holds a build of another config (fingerprint {previous}); use a new --out "
                             "or remove that directory")
    else:
        marker.parent.mkdir(parents=True, exist_ok=True)
        write_text(marker, json.dumps({"fingerprint": config.fingerprint(), "name": config.name}) + "\n")
        write_text(out / "config.yaml", yaml.safe_dump(
            {"config": config.model_dump(mode="json"), "python": platform.python_version()}, sort_keys=False))


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def build(config: BuildConfig, out_dir: str | Path, *, workers: int = 1, scheduler: str | None = None,
          progress: ProgressFn | None = None) -> dict:
    """Build (or resume) the dataset into `out_dir`; returns the dataset card (also written there).

    Progress: stage "build", records kept so far, after each committed chunk."""
    out = Path(out_dir)
    _check_out_dir(out, config)
    state_dir = out / "state"
    qc = QualityControl(config.qc)
    done, state = _read_commits(state_dir, qc)
    total = sum(sum(tasks.values()) for tasks in state.counts.values())
    for s, options in enumerate(config.sources):
        reading = Reading()
        entry = state.problems.setdefault(str(s), {"kind": options.kind, "build": 0, "reading": 0, "examples": []})
        chunks = _chunks(source_items(options, reading), config.chunk_size)
        skipped = sum(1 for _ in itertools.islice(chunks, done.get(s, 0)))  # committed: read past, not rebuilt
        calls = ((options, chunk, qc.config, config.split, config.phrasings_dir, tuple(config.plugins))
                 for chunk in chunks)
        for c, result in enumerate(run_ordered(build_chunk, calls, workers=workers, scheduler=scheduler), skipped):
            kept = result.table.filter(pa.array(_admit(qc, result, config.split.method), pa.bool_()))
            splits = pc.struct_field(kept["meta"], "split")
            for split in SPLITS:
                rows = kept.filter(pc.equal(splits, split))
                if rows.num_rows:
                    write_table(out / "data" / f"{split}-s{s:02d}-c{c:05d}.parquet", rows)
                    for task, n in Counter(rows["task"].to_pylist()).items():
                        state.counts[split][task] = state.counts[split].get(task, 0) + n
            entry["build"] += len(result.problems)
            entry["examples"] = (entry["examples"] + [[p.where, p.reason] for p in result.problems])[:_EXAMPLES]
            kept_smiles = set(pc.struct_field(kept["modalities"], "smiles").to_pylist())
            molecules = [[smiles, *stats] for smiles, stats in result.molecules.items() if smiles in kept_smiles]
            sequences = set(pc.struct_field(kept["modalities"], "protein_sequence").to_pylist())
            proteins = [len(p) for p in sequences - {None}]
            commit = {"keys": qc.take_new_keys(), "counts": state.counts, "problems": state.problems,
                      "report": qc.report.to_dict(), "molecules": molecules, "proteins": proteins}
            write_text(state_dir / f"s{s:02d}-c{c:05d}.json", json.dumps(commit))
            state.molecules.extend(molecules)
            state.proteins.extend(proteins)
            total += kept.num_rows
            report(progress, "build", total, unit="records", note=f"source {s} ({options.kind}) chunk {c}")
        # the whole stream was read (skipped chunks too): the full counts
        entry.update(reading=len(reading.problems), counts=dict(reading.counts), notes=dict(reading.notes))
        entry["examples"] = (entry["examples"] + [[p.where, p.reason] for p in reading.problems])[:_EXAMPLES]
    return write_card(out, config, state.counts, qc.report.to_dict(), state.problems, state.molecules, state.proteins,
                      runner=f"dask scheduler {scheduler}" if scheduler else f"{workers} local worker(s)")


def _admit(qc: QualityControl, result: ChunkResult, method: str) -> list[bool]:
    """Which of the chunk's rows QC keeps, in order (each counted in its report), from the checks made in the worker.

    Under `keep`, rows without a published split are dropped first, so they leave no dedup key behind."""
    ids = result.table["id"].to_pylist()
    splits = pc.struct_field(result.table["meta"], "split").to_pylist()
    if method == "keep":
        for record_id, split in zip(ids, splits):
            if split is None:
                qc.drop(record_id, "no_published_split")
    return [(method != "keep" or split is not None) and qc.admit(record_id, check)
            for record_id, split, check in zip(ids, splits, result.checks)]

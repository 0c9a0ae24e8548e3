"""`molbridge bench mm`: the ChEBI-20-MM grid — data once, every missing cell, then the results and the report.

1. the grid directory is claimed with the config (`grid.json`); a directory holding another config's cells
   refuses to mix them in;
2. the data are built once (`molbridge data build` with the `chebi20mm` source: the training file as split train,
   the test file as split test, QC as always) and the common subset chosen: the molecules that have a record
   of every task the grid runs (so every cell trains and tests on the same molecules);
3. each cell without `result.json` runs (`apps.mm_cells.run_cell`) in a local process pool (`workers`; a process
   per cell, so one cell's memory never reaches the next) or as tasks on a Dask cluster (`scheduler`); a failed
   cell records its error and is retried by the next run;
4. the results (`apps.mm_results`) and the report (`apps.mm_report`) are written from every cell on disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from molbridge.apps.mm_cells import COMMON_FILE, GRID_FILE, cell_dir, run_cell
from molbridge.apps.mm_config import GridConfig, GridConfigError
from molbridge.apps.mm_routes import ROUTES, cells
from molbridge.atomic import write_json
from molbridge.progress import ProgressFn, report

Cell = tuple[str, str, str]  # (output, input, model)


def run_grid(config: GridConfig, out: str | Path, *, workers: int = 1, scheduler: str | None = None,
             progress: ProgressFn | None = None) -> dict:
    """Run every missing cell of the grid into `out`, then write the results; returns the results summary."""
    from molbridge.apps.mm_report import write_report
    from molbridge.apps.mm_results import collect

    out = Path(out)
    grid = cells(config.outputs, config.inputs, config.models)
    _claim(out, config)
    prepare_data(config, out, grid, workers=workers, progress=progress)
    if any(model == "t5" for *_, model in grid):
        from molbridge.apps.mm_training import t5_model

        t5_model(config, out)
    missing = [c for c in grid if not (cell_dir(out, *c) / "result.json").is_file()]
    done = len(grid) - len(missing)
    report(progress, "cells", done, len(grid), unit="cells")
    for _ in dispatch(out, missing, workers=workers, scheduler=scheduler):
        done += 1
        report(progress, "cells", done, len(grid), unit="cells")
    results = collect(config, out, grid)
    write_report(out, results)
    return results


def _claim(out: Path, config: GridConfig) -> None:
    path = out / GRID_FILE
    if path.is_file():
        held = json.loads(path.read_text())
        if held["fingerprint"] != config.fingerprint():
            raise GridConfigError(f"{out} holds cells of another grid config (fingerprint {held['fingerprint']}, "
                                  f"this one {config.fingerprint()}); use another --out, or the same settings "
                                  "(outputs, inputs and models may change)")
    out.mkdir(parents=True, exist_ok=True)
    write_json(path, {"fingerprint": config.fingerprint(), "config": config.model_dump(mode="json")})


def grid_tasks(grid: Sequence[Cell]) -> list[str]:
    return list(dict.fromkeys(ROUTES[(source, output)].task for output, source, _ in grid))


def prepare_data(config: GridConfig, out: Path, grid: Sequence[Cell], *, workers: int = 1,
                 progress: ProgressFn | None = None) -> None:
    """Build the grid's records (resumable) and choose the common molecules (`common.json`)."""
    from molbridge.data.build.config import BuildConfig
    from molbridge.data.build.pipeline import build
    from molbridge.data.parquet_io import read_split

    tasks = grid_tasks(grid)
    data = config.data
    conformers = any(source == "conformer" for _, source, _ in grid)  # embedded once here, not in every cell
    build(BuildConfig.model_validate({
        "name": config.name, "split": {"method": "keep"},
        "sources": [{"kind": "chebi20mm", "path": path, "split": split, "limit": limit, "tasks": tasks,
                     "conformers": conformers}
                    for path, split, limit in ((data.train, "train", data.train_rows),
                                               (data.test, "test", data.test_rows))]}),
          out / "data", workers=workers, progress=progress)
    common = {}
    for split in ("train", "test"):
        records = read_split(out / "data", split)
        having: dict[str, set[str]] = {task: set() for task in tasks}
        for record in records:
            having[record.task].add(record.meta.source_id or record.id)
        order = list(dict.fromkeys(r.meta.source_id or r.id for r in records))
        everywhere = set.intersection(*having.values())
        common[split] = [i for i in order if i in everywhere]
        if not common[split]:
            raise GridConfigError(f"no {split} molecule has a record of every task of the grid ({', '.join(tasks)})")
    write_json(out / COMMON_FILE, common)


def dispatch(out: Path, todo: Sequence[Cell], *, workers: int = 1, scheduler: str | None = None
             ) -> Iterator[dict]:
    """Each cell's result (or recorded error) as it finishes."""
    if not todo:
        return
    if scheduler:
        yield from _on_dask(out, todo, scheduler)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), max_tasks_per_child=1,
                             initializer=_share_cores, initargs=(workers,)) as pool:
        futures = {pool.submit(run_cell, str(out), *cell): cell for cell in todo}
        for future in as_completed(futures):
            yield _outcome(out, futures[future], future)


def _on_dask(out: Path, todo: Sequence[Cell], scheduler: str) -> Iterator[dict]:
    from distributed import Client
    from distributed import as_completed as finished

    with Client(scheduler) as client:
        futures = {client.submit(run_cell, str(out), *cell, pure=False): cell for cell in todo}
        for future in finished(list(futures)):
            yield _outcome(out, futures[future], future)


def _outcome(out: Path, cell: Cell, future) -> dict:
    """A finished cell's result; a worker that died (killed, out of memory) is recorded as the cell's error."""
    try:
        return future.result()
    except Exception as err:
        error = {"cell": cell_dir(out, *cell).name, "output": cell[0], "input": cell[1], "model": cell[2],
                 "status": "failed", "error": type(err).__name__, "message": f"the worker running it died: {err}"}
        write_json(cell_dir(out, *cell) / "error.json", error)
        return error


def _share_cores(workers: int) -> None:
    """In a cell's process: the machine's cores shared among the pool's workers."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))

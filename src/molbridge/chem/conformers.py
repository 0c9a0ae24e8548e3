"""3D conformers: RDKit ETKDGv3 embedding + MMFF94 optimisation, seeded, with a retry ladder and a hard deadline.

`embed_conformer` tries, in order: ETKDGv3 with the seed, with the seed + 1 and + 2 (a new
random start often gets past a failed embedding), then random initial coordinates (RDKit's
advice for large or strained molecules). Each attempt is bounded by RDKit's own `timeout`.
MMFF94 then relaxes the geometry; a molecule MMFF has no parameters for keeps its ETKDG
geometry and says so in `method`. Failures raise `ConformerError` with the cause of the last
attempt, never anything else.

RDKit's timeout is checked only between its internal steps, so one molecule can still run
far past it. `ConformerRunner` therefore embeds in worker processes and kills a worker whose
molecule overruns the hard per-molecule deadline, recording `timeout` and starting a new
worker: a batch job loses the one molecule, never the run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import cast

from rdkit import Chem
from rdkit.Chem import rdDistGeom, rdForceFieldHelpers

from molbridge.chem.parse import to_mol
from molbridge.errors import InvalidMolecule, MolbridgeError

SEED_RETRIES = 3
_START_TIMEOUT_S = 120


class ConformerError(MolbridgeError, RuntimeError):
    """No conformer could be made for a molecule; `cause` says why (parse, embedding, timeout)."""

    def __init__(self, smiles: str, cause: str) -> None:
        self.smiles, self.cause = smiles, cause
        super().__init__(f"no conformer for {smiles!r}: {cause}")


@dataclass(frozen=True)
class Geometry:
    """Element symbols (hydrogens included), coordinates in Å, MMFF energy (kcal/mol) and how it was made."""

    atoms: list[str]
    coords: list[tuple[float, float, float]]
    energy: float | None
    method: str
    attempts: int


def embed_conformer(smiles: str, *, seed: int = 0, timeout_s: int = 10, mmff_iterations: int = 2000) -> Geometry:
    """One optimised conformer of `smiles`; raises ConformerError with the cause."""
    try:
        mol = Chem.AddHs(to_mol(smiles))
    except InvalidMolecule as err:
        raise ConformerError(smiles, f"invalid molecule: {err.reason}") from None
    ladder = [(seed + i, False) for i in range(SEED_RETRIES)] + [(seed, True)]
    for attempt, (attempt_seed, random_coords) in enumerate(ladder, start=1):  # noqa: B007 (read after the loop)
        params = rdDistGeom.ETKDGv3()
        # rdkit-stubs give EmbedParameters' property setters no value type: mypy takes it as EmbedParameters
        params.randomSeed, params.useRandomCoords, params.timeout = (
            attempt_seed, random_coords, timeout_s)  # type: ignore[assignment]
        if rdDistGeom.EmbedMolecule(mol, params) == 0:
            break
    else:
        raise ConformerError(smiles, f"embedding failed after {len(ladder)} attempts (seeds and random coordinates)")
    method = f"ETKDGv3(seed={attempt_seed}{', random coords' if random_coords else ''})"
    energy = None
    if rdForceFieldHelpers.MMFFHasAllMoleculeParams(mol):
        properties = rdForceFieldHelpers.MMFFGetMoleculeProperties(mol)
        field = rdForceFieldHelpers.MMFFGetMoleculeForceField(mol, properties)
        field.Minimize(maxIts=mmff_iterations)
        energy, method = field.CalcEnergy(), method + "+MMFF94"
    else:
        method += " (no MMFF94 parameters: not optimised)"
    positions = mol.GetConformer().GetPositions()
    return Geometry([a.GetSymbol() for a in mol.GetAtoms()], [(float(x), float(y), float(z)) for x, y, z in positions],
                    energy, method, attempt)


@dataclass(frozen=True)
class ConformerResult:
    """The outcome for one input: a geometry, or the cause of failure (`timeout` for a killed worker)."""

    index: int
    smiles: str
    geometry: Geometry | None
    cause: str | None
    seconds: float


def _worker(connection: Connection, seed: int, timeout_s: int) -> None:
    connection.send("ready")  # imports done: the deadline clock may start
    while (task := connection.recv()) is not None:
        index, smiles = task
        try:
            connection.send((index, embed_conformer(smiles, seed=seed, timeout_s=timeout_s), None))
        except ConformerError as err:
            connection.send((index, None, err.cause))


class ConformerRunner:
    """Embeds molecules in `workers` processes; a molecule over `deadline_s` is killed and counted."""

    def __init__(self, workers: int = 1, *, deadline_s: float = 60.0, seed: int = 0, timeout_s: int = 10) -> None:
        self.workers, self.deadline_s, self.seed, self.timeout_s = max(1, workers), deadline_s, seed, timeout_s
        self._context = multiprocessing.get_context("spawn")

    def _start(self) -> tuple:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker, args=(child, self.seed, self.timeout_s), daemon=True)
        process.start()
        child.close()
        if not parent.poll(_START_TIMEOUT_S) or parent.recv() != "ready":
            process.kill()
            raise ConformerError("", f"a conformer worker did not start within {_START_TIMEOUT_S} s")
        return process, parent

    def run(self, smiles: Iterable[str]) -> Iterator[ConformerResult]:
        """Results as molecules finish (not in input order; `index` says which input)."""
        todo = list(enumerate(smiles))[::-1]
        idle = [self._start() for _ in range(min(self.workers, len(todo)))]
        busy: dict[Connection, tuple] = {}  # connection → (process, index, smiles, started)
        try:
            while todo or busy:
                while idle and todo:
                    process, connection = idle.pop()
                    index, text = todo.pop()
                    connection.send((index, text))
                    busy[connection] = (process, index, text, time.monotonic())
                now = time.monotonic()
                soonest = min(started for *_, started in busy.values()) + self.deadline_s
                # wait returns some of the objects it was given: here Connections only
                ready = cast("list[Connection]", wait(list(busy), timeout=max(0.0, soonest - now)))
                for connection in ready:
                    process, index, text, started = busy.pop(connection)
                    _, geometry, cause = connection.recv()
                    idle.append((process, connection))
                    yield ConformerResult(index, text, geometry, cause, time.monotonic() - started)
                for connection, (process, index, text, started) in list(busy.items()):
                    if time.monotonic() - started >= self.deadline_s:
                        process.kill()
                        process.join()
                        del busy[connection]
                        idle.append(self._start())
                        yield ConformerResult(index, text, None, f"timeout after {self.deadline_s:g} s (worker killed)",
                                              time.monotonic() - started)
        finally:
            for process, connection in idle + [(p, c) for c, (p, *_) in busy.items()]:
                with contextlib.suppress(OSError):
                    connection.send(None)
                process.join(timeout=1)
                if process.is_alive():
                    process.kill()

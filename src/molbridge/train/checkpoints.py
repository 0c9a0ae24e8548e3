"""Atomic training checkpoints that resume exactly: trainable weights, optimizer, schedule, RNG, position.

A checkpoint is written into a staging directory and renamed into place, so a run killed at
any moment leaves either the previous checkpoints or a complete new one, never half of one.
Only weights that train are stored (a LoRA checkpoint of SmolLM2-135M is ~10 MB, not 540 MB).
Each process stores its own RNG state (dropout draws differ per rank); the other files are the
same on every rank under DDP and written once. Every file is JSON or safetensors: nothing is
unpickled on resume, so a checkpoint from elsewhere cannot run code when it is loaded.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from molbridge.atomic import replace_directory
from molbridge.errors import MolbridgeError
from molbridge.state_files import (
    StateFileError,
    read_optimizer_state,
    read_state_json,
    write_optimizer_state,
    write_state_json,
)

STATE = "state.json"


class CheckpointError(MolbridgeError, RuntimeError):
    """A checkpoint that does not belong to this run or cannot be read."""


def _write_json(path: Path, value: Any) -> None:
    try:
        write_state_json(path, value)
    except StateFileError as err:
        raise CheckpointError(f"{path}: {err}") from None


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def _read(path: Path, reader: Callable[[Path], Any]) -> Any:
    """`reader(path)`, with a missing or damaged file reported as a CheckpointError."""
    try:
        return reader(path)
    except (OSError, ValueError, SafetensorError) as err:
        raise CheckpointError(f"{path}: cannot be read ({err}); remove this checkpoint to resume from the "
                              "one before it") from None


def rng_state() -> tuple[dict, dict[str, torch.Tensor]]:
    """This process's RNG states (python, numpy, torch, CUDA) as JSON data and tensors."""
    # legacy=True (numpy's default) gives the tuple form for the global MT19937 state; the stubs also allow a dict
    state = cast("tuple[str, np.ndarray, int, int, float]", np.random.get_state(legacy=True))
    name, keys, pos, has_gauss, gauss = state
    data = {"python": random.getstate(), "numpy": (name, keys.tolist(), pos, has_gauss, gauss)}
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"cuda.{i}": state for i, state in enumerate(torch.cuda.get_rng_state_all())})
    return data, tensors


def set_rng_state(data: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Restore the states `rng_state` returned; CUDA states only where CUDA is available."""
    random.setstate(data["python"])
    name, keys, pos, has_gauss, gauss = data["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(tensors["torch"])
    cuda = sorted((key for key in tensors if key.startswith("cuda.")), key=lambda key: int(key.split(".")[1]))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[key] for key in cuda])


def _refuse_pickles(path: Path) -> None:
    """Checkpoints of earlier versions kept state in torch.save pickles, and unpickling can run code: refuse them."""
    old = sorted(p.name for p in path.glob("*.pt"))
    if old:
        raise CheckpointError(f"{path}: an old, unsafe checkpoint format (pickled state in {', '.join(old)}), which "
                              f"molbridge no longer loads because unpickling can run arbitrary code; retrain from the "
                              f"start: remove {path.parent} or use a new --out")


def step_dirs(root: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    found = [p for p in root.glob("step-*") if p.is_dir() and (p / STATE).is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def save(root: Path, step: int, weights: dict[str, torch.Tensor], optimizer, scheduler, state: dict,
         rank: int, barrier, keep: int) -> Path:
    """Write checkpoint `step` under `root` from every rank (`barrier()` synchronises them)."""
    staging, final = root / f".step-{step}.partial", root / f"step-{step}"
    if rank == 0:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    barrier()
    rng_data, rng_tensors = rng_state()
    save_file(rng_tensors, str(staging / f"rng-{rank}.safetensors"))
    _write_json(staging / f"rng-{rank}.json", rng_data)
    barrier()
    if rank == 0:
        save_file(weights, str(staging / "trainable.safetensors"))
        try:
            write_optimizer_state(staging, optimizer.state_dict())
        except StateFileError as err:
            raise CheckpointError(f"{staging}: {err}") from None
        _write_json(staging / "scheduler.json", scheduler.state_dict())
        (staging / STATE).write_text(json.dumps({**state, "step": step}, indent=2) + "\n")
        replace_directory(staging, final)  # every rank wrote into staging: not one process's atomic_directory
        for old in step_dirs(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    barrier()
    return final


def check_settings(path: Path, fingerprint: str, world: int) -> dict:
    """The checkpoint's state, when it belongs to a run of these settings and processes (else CheckpointError).

    Called before a run writes anything, so a refused resume leaves the run directory as it was."""
    _refuse_pickles(path)
    state = _read(path / STATE, read_state_json)
    if state.get("fingerprint") != fingerprint:
        raise CheckpointError(f"{path}: written by a run with different settings (config fingerprint "
                              f"{state.get('fingerprint')} vs {fingerprint}); use a new --out or remove it")
    if state.get("world_size") != world:
        raise CheckpointError(f"{path}: written by {state.get('world_size')} processes, resumed with {world}; "
                              "resume with the same number of processes")
    return state


def load(path: Path, model, optimizer, scheduler, rank: int, world: int, fingerprint: str) -> dict:
    """Restore a checkpoint into the run's objects; returns its state (step, position, counters)."""
    state = check_settings(path, fingerprint, world)
    weights = _read(path / "trainable.safetensors", _read_tensors)
    params = dict(model.named_parameters())
    missing = [name for name, p in params.items() if p.requires_grad and name not in weights]
    if missing or set(weights) - set(params):
        raise CheckpointError(f"{path}: trainable weights do not match the model ({len(missing)} missing)")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value)
    optimizer.load_state_dict(_read(path, read_optimizer_state))
    scheduler.load_state_dict(_read(path / "scheduler.json", read_state_json))
    set_rng_state(_read(path / f"rng-{rank}.json", read_state_json),
                  _read(path / f"rng-{rank}.safetensors", _read_tensors))
    return state


class CosineWithWarmup:
    """Linear warm-up then cosine decay to 0 over `total` steps (transformers' formula, tested equal).

    A class, not a closure, so `LambdaLR.state_dict()` saves `total`: a time budget re-plans the
    length once, and a resume must continue that plan.
    """

    def __init__(self, warmup: int, total: int) -> None:
        self.warmup, self.total = warmup, total

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return step / max(1, self.warmup)
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        return max(0.0, 0.5 * (1.0 + float(np.cos(np.pi * progress))))

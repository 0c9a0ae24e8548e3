"""Atomic training checkpoints that resume exactly: trainable weights, optimizer, schedule, RNG, position.

A checkpoint is written into a staging directory and renamed into place, so a run killed at
any moment leaves either the previous checkpoints or a complete new one, never half of one.
Only weights that train are stored (a LoRA checkpoint of SmolLM2-135M is ~10 MB, not 540 MB).
Each process stores its own RNG state (dropout draws differ per rank); the other files are the
same on every rank under DDP and written once.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from molbridge.errors import MolbridgeError

STATE = "state.json"


class CheckpointError(MolbridgeError, RuntimeError):
    """A checkpoint that does not belong to this run or cannot be read."""


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


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
    torch.save(rng_state(), staging / f"rng-{rank}.pt")
    barrier()
    if rank == 0:
        save_file(weights, str(staging / "trainable.safetensors"))
        torch.save(optimizer.state_dict(), staging / "optimizer.pt")
        torch.save(scheduler.state_dict(), staging / "scheduler.pt")
        (staging / STATE).write_text(json.dumps({**state, "step": step}, indent=2) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        for old in step_dirs(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    barrier()
    return final


def load(path: Path, model, optimizer, scheduler, rank: int, world: int, fingerprint: str) -> dict:
    """Restore a checkpoint into the run's objects; returns its state (step, position, counters)."""
    state = json.loads((path / STATE).read_text())
    if state.get("fingerprint") != fingerprint:
        raise CheckpointError(f"{path}: written by a run with different settings (config fingerprint "
                              f"{state.get('fingerprint')} vs {fingerprint}); use a new --out or remove it")
    if state.get("world_size") != world:
        raise CheckpointError(f"{path}: written by {state.get('world_size')} processes, resumed with {world}; "
                              "resume with the same number of processes")
    weights = load_file(str(path / "trainable.safetensors"))
    params = dict(model.named_parameters())
    missing = [name for name, p in params.items() if p.requires_grad and name not in weights]
    if missing or set(weights) - set(params):
        raise CheckpointError(f"{path}: trainable weights do not match the model ({len(missing)} missing)")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    set_rng_state(torch.load(path / f"rng-{rank}.pt", weights_only=False))
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

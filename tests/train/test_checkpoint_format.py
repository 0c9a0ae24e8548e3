"""Checkpoints hold only JSON and safetensors, restore optimizer, schedule and RNG exactly, and refuse pickles."""

from __future__ import annotations

import json
import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch.optim.lr_scheduler import LambdaLR

from molbridge.train import checkpoints
from molbridge.train.checkpoints import CheckpointError, CosineWithWarmup

FINGERPRINT = "test-run"


def no_barrier() -> None:
    """One process: nothing to wait for."""


def training(seed: int = 0, total: int = 10) -> tuple[torch.nn.Linear, torch.optim.AdamW, LambdaLR]:
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.8, 0.99))
    return model, optimizer, LambdaLR(optimizer, CosineWithWarmup(2, total))


def step(model: torch.nn.Linear, optimizer: torch.optim.AdamW, scheduler: LambdaLR) -> None:
    model(torch.randn(5, 4)).square().mean().backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def save(root: Path, model, optimizer, scheduler) -> Path:
    weights = {name: p.detach().clone() for name, p in model.named_parameters()}
    return checkpoints.save(root, 2, weights, optimizer, scheduler, {"fingerprint": FINGERPRINT, "world_size": 1},
                            0, no_barrier, keep=2)


def same(a, b) -> bool:
    """Equal values of equal types; tensors equal in dtype, shape and every element."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def draws() -> tuple:
    return random.random(), np.random.rand(3).tolist(), np.random.randn(), torch.rand(3).tolist()


def test_round_trip_restores_optimizer_schedule_and_rng_exactly(tmp_path: Path) -> None:
    model, optimizer, scheduler = training()
    step(model, optimizer, scheduler)
    step(model, optimizer, scheduler)
    scheduler.lr_lambdas[0].total, scheduler.lr_lambdas[0].warmup = 7, 1  # a re-planned schedule
    random.seed(1)
    np.random.seed(1)
    np.random.randn()  # leaves a cached Gaussian in numpy's legacy state
    torch.manual_seed(1)
    path = save(tmp_path, model, optimizer, scheduler)
    expected = draws()

    random.seed(2)
    np.random.seed(2)
    torch.manual_seed(2)
    model2, optimizer2, scheduler2 = training(seed=3)
    assert checkpoints.load(path, model2, optimizer2, scheduler2, 0, 1, FINGERPRINT)["step"] == 2
    assert draws() == expected
    assert same(optimizer2.state_dict(), optimizer.state_dict())
    assert same(scheduler2.state_dict(), scheduler.state_dict())
    assert (scheduler2.lr_lambdas[0].total, scheduler2.lr_lambdas[0].warmup) == (7, 1)

    torch.manual_seed(4)
    step(model, optimizer, scheduler)
    torch.manual_seed(4)
    step(model2, optimizer2, scheduler2)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters()))
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()


@pytest.mark.parametrize("count", [torch.tensor(2.0), torch.tensor(2, dtype=torch.int64), 2.0, 2])
def test_optimizer_step_counts_keep_their_type(tmp_path: Path, count) -> None:
    """torch versions keep AdamW's `step` as a float tensor, a number or an int: each comes back as it was.

    (torch 2.13's AdamW turns a number into a tensor on `load_state_dict`, so the stored dict is compared.)
    """
    model, optimizer, scheduler = training()
    step(model, optimizer, scheduler)
    state = optimizer.state_dict()
    for entry in state["state"].values():
        entry["step"] = count.clone() if isinstance(count, torch.Tensor) else count
    checkpoints.write_optimizer_state(tmp_path, state)
    assert same(checkpoints.read_optimizer_state(tmp_path), state)


def test_checkpoint_files_are_json_or_safetensors_only(tmp_path: Path) -> None:
    model, optimizer, scheduler = training()
    step(model, optimizer, scheduler)
    path = save(tmp_path, model, optimizer, scheduler)
    files = sorted(p.name for p in path.iterdir())
    assert files == ["optimizer.json", "optimizer.safetensors", "rng-0.json", "rng-0.safetensors", "scheduler.json",
                     "state.json", "trainable.safetensors"]
    for name in files:
        raw = (path / name).read_bytes()
        assert not raw.startswith(b"\x80") and not raw.startswith(b"PK")  # no pickle, no torch.save zip
        if name.endswith(".json"):
            json.loads(raw)
        else:
            load_file(str(path / name))


class RunsOnUnpickle:
    """A pickle payload: unpickling it creates `marker`, as a hostile checkpoint could run any code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


@pytest.mark.parametrize("name", ["optimizer.pt", "scheduler.pt", "rng-0.pt"])
def test_old_pickled_checkpoint_is_refused_unread(tmp_path: Path, name: str) -> None:
    model, optimizer, scheduler = training()
    step(model, optimizer, scheduler)
    path = save(tmp_path / "checkpoints", model, optimizer, scheduler)
    marker = tmp_path / "payload-ran"
    torch.save({"state": RunsOnUnpickle(marker)}, path / name)
    with pytest.raises(CheckpointError, match=rf"old, unsafe checkpoint format \(pickled state in {name}\)"):
        checkpoints.load(path, model, optimizer, scheduler, 0, 1, FINGERPRINT)
    assert not marker.exists()
    live = tmp_path / "payload-is-live"
    pickle.loads(pickle.dumps(RunsOnUnpickle(live)))  # our own bytes: shows that unpickling the file would have run it
    assert live.is_dir()


def test_damaged_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    model, optimizer, scheduler = training()
    step(model, optimizer, scheduler)
    path = save(tmp_path, model, optimizer, scheduler)
    (path / "optimizer.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError, match="optimizer.safetensors: cannot be read"):
        checkpoints.load(path, model, optimizer, scheduler, 0, 1, FINGERPRINT)

"""Training state as files that load without unpickling: JSON (tuples kept) and safetensors (tensors).

Shared by every layer that checkpoints (the training loop, 3D-encoder pre-training): an optimizer's
state dict splits into its tensors (safetensors) and everything else (JSON), and comes back equal.
`read_state_json` raises what the file raises; `read_optimizer_state` a StateFileError naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from molbridge.errors import MolbridgeError

_TUPLE = "__tuple__"


class StateFileError(MolbridgeError, ValueError):
    """A value that JSON state cannot hold."""


def to_json(value: Any) -> Any:
    """`value` as JSON data; tuples are tagged so they come back as tuples and state dicts compare equal."""
    if isinstance(value, tuple):
        return {_TUPLE: [to_json(item) for item in value]}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: to_json(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise StateFileError(f"cannot store {type(value).__name__} {value!r:.80} in JSON state")


def _untag(obj: dict) -> Any:
    return tuple(obj[_TUPLE]) if obj.keys() == {_TUPLE} else obj


def write_state_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(to_json(value)) + "\n")


def read_state_json(path: Path) -> Any:
    return json.loads(path.read_text(), object_hook=_untag)


def write_optimizer_state(directory: Path, state_dict: dict) -> None:
    """Store an optimizer state dict: tensors as `state.{param}.{name}` in safetensors, the rest as JSON."""
    numbers, tensors = {}, {}
    for index, entry in state_dict["state"].items():
        numbers[str(index)] = {name: v for name, v in entry.items() if not isinstance(v, torch.Tensor)}
        tensors.update({f"state.{index}.{name}": v for name, v in entry.items() if isinstance(v, torch.Tensor)})
    save_file(tensors, str(directory / "optimizer.safetensors"))
    write_state_json(directory / "optimizer.json", {"param_groups": state_dict["param_groups"], "state": numbers})


def _named(path: Path, reader: Callable[[Path], Any]) -> Any:
    """`reader(path)`; a missing or damaged file raises StateFileError naming it."""
    try:
        return reader(path)
    except (OSError, ValueError, SafetensorError) as err:
        raise StateFileError(f"{path}: cannot be read ({err})") from None


def read_optimizer_state(directory: Path) -> dict:
    """The state dict `write_optimizer_state` stored, equal to it (parameter indices back to ints)."""
    data = _named(directory / "optimizer.json", read_state_json)
    state = {int(index): dict(entry) for index, entry in data["state"].items()}
    for key, value in _named(directory / "optimizer.safetensors", lambda p: load_file(str(p))).items():
        _, index, name = key.split(".", 2)
        state[int(index)][name] = value
    return {"state": state, "param_groups": data["param_groups"]}

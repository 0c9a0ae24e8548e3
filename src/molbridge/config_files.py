"""YAML config files with `--set KEY=VALUE` overrides, validated by a pydantic model before any work starts.

One loader for every command that takes a config (`data build`, `train`), so overrides and error
messages work the same everywhere: unknown keys, wrong types and bad values name the file and
the key. Override values are read as YAML scalars (`--set qc.max_heavy_atoms=40`); a numeric
path part indexes a list (`--set sources.0.limit=100`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from molbridge.errors import MolbridgeError

M = TypeVar("M", bound=BaseModel)


def apply_override(data: dict, assignment: str) -> None:
    """Set one `a.b.0.c=value` assignment in parsed YAML (raises ValueError/KeyError/IndexError/TypeError)."""
    if "=" not in assignment:
        raise ValueError(f"--set {assignment!r}: expected KEY=VALUE")
    key, value = assignment.split("=", 1)
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {}) if not part.isdigit() else node[int(part)]
    last = parts[-1]
    node[int(last) if last.isdigit() else last] = yaml.safe_load(value)


def load_yaml_config(path: str | Path, model: type[M], error: type[MolbridgeError], overrides: Sequence[str] = (),
                     defaults: dict | None = None) -> M:
    """Read `path`, apply `overrides`, validate as `model`; every failure is `error` naming the file and key.

    `defaults` fills top-level keys the file does not set (e.g. an output directory from the command line).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such config file") from None
    except yaml.YAMLError as err:
        raise error(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping at the top level")
    for key, value in (defaults or {}).items():
        data.setdefault(key, value)
    try:
        for assignment in overrides:
            apply_override(data, assignment)
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise error(f"{path}: --set cannot be applied: {err}") from None
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                             for e in err.errors())
        raise error(f"{path}: {problems}") from None

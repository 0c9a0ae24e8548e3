"""The layers import downwards only (README, Layout): a module may import its own layer, the shared base modules
and the layers listed before it, never one after it (lazy imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "molbridge"
LAYERS = ["chem", "protein", "tasks", "data", "models", "retrieval", "eval", "train", "apps", "serve", "cli"]
BASE = {"records", "errors", "atomic", "progress", "cache", "config_files", "state_files", "__init__", "__main__"}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "molbridge" and parts[1] in LAYERS else None


def test_no_module_imports_a_layer_above_its_own() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        own = path.relative_to(SRC).parts[0]
        base = own not in LAYERS
        if base:
            assert path.stem in BASE, f"{path} is neither in a layer nor a shared base module"
            if path.stem == "__main__":
                continue  # the entry point runs the CLI
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for name in names:
                target = layer_of(name)
                if target is not None and (base or LAYERS.index(target) > LAYERS.index(own)):  # base: below all
                    wrong.append(f"{path.relative_to(SRC)}:{node.lineno} imports {name}")
    assert not wrong, "\n".join(wrong)

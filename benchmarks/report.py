"""Write one benchmark's section of BENCHMARKS.md, leaving every other section untouched."""

from __future__ import annotations

from pathlib import Path


def write_section(name: str, text: str, target: Path) -> None:
    """Replace the text between `<!-- {name}:start -->` and `<!-- {name}:end -->` (append if absent)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    old = target.read_text() if target.exists() else "# Benchmarks\n\n"
    if start in old:
        head, rest = old.split(start, 1)
        new = head + start + "\n" + text + end + rest.split(end, 1)[1]
    else:
        new = old.rstrip() + "\n\n" + start + "\n" + text + end + "\n"
    target.write_text(new)


def code_version() -> str:
    """A hash of molbridge's source files: a cached prediction is reused only by the code that made it."""
    import hashlib

    import molbridge

    digest = hashlib.sha256()
    root = Path(molbridge.__file__).parent
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json"):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(**settings) -> str:
    """The name of a cached result: the code version and every setting that changes it."""
    import hashlib
    import json

    text = json.dumps({"code": code_version(), **settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def built_dataset(out: Path, name: str, sources: list[dict]) -> Path:
    """A benchmark's dataset, built once into `out` (scaffold split 0.8 / 0.1 / 0.1, seed 0) and reused after."""
    import yaml

    from molbridge.data.build.config import load_config
    from molbridge.data.build.pipeline import build

    if not (out / "card.json").is_file():
        config = out.parent / f"{out.name}.yaml"
        config.write_text(yaml.safe_dump({"name": name, "sources": sources, "split": {
            "method": "scaffold", "fractions": [0.8, 0.1, 0.1], "seed": 0}}))
        build(load_config(config), out, workers=2)
    return out

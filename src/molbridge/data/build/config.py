"""The YAML config of `molbridge data build`, validated before any work starts.

Each source entry is validated by its registered source's options model, so unknown keys,
unknown sources or tasks, tasks a source cannot feed, paths that do not exist and bad split
fractions are errors naming the key: a typo never silently builds a different dataset.
`--set a.b=c` overrides are applied to the parsed YAML before validation.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator

import molbridge.data.sources  # noqa: F401  (registers the sources)
from molbridge.config_files import load_yaml_config
from molbridge.data.qc import QCConfig
from molbridge.data.splits import METHODS, check_fractions
from molbridge.errors import MolbridgeError
from molbridge.tasks import SOURCES, TASKS, SourceOptions, UnknownNameError, fed_by


class ConfigError(MolbridgeError, ValueError):
    """A build config that cannot be used; names the file and the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def import_plugins(modules: list[str]) -> None:
    """Import modules that register more tasks or sources (in this process and in every build worker)."""
    for name in modules:
        importlib.import_module(name)


def import_dataset_plugins(dataset: Path) -> None:
    """Import the plugins a built dataset was built with (read from its `config.yaml`), if it names any."""
    written = dataset / "config.yaml"
    if written.is_file():
        config = yaml.safe_load(written.read_text(encoding="utf-8")) or {}
        import_plugins(list(config.get("config", {}).get("plugins", [])))


def check_source(options: SourceOptions) -> None:
    """A source entry whose tasks and options its source supports (raises ValueError naming the key)."""
    source = SOURCES.get(options.kind)
    if source.imported:
        if options.conformers and "smiles" not in options.joins():
            raise ValueError(f"'conformers' needs the records' SMILES: {options.kind!r} records carry none here "
                             "(molecule sources molbridge builds have them; an import gains them from its table, "
                             "e.g. 3D-MoIT's `cid_table`)")
        return
    fed = fed_by(source)
    for name in options.tasks:
        task = TASKS.get(name)
        if task not in fed:
            missing = sorted(task.needs - source.provides) if task.build is not None else ["a builder"]
            raise ValueError(f"source {options.kind!r} cannot feed task {name!r} (it lacks {', '.join(missing)}); "
                             f"it feeds {', '.join(t.name for t in fed)}")
    if options.conformers and (source.geometry or "smiles" not in source.provides):
        raise ValueError(f"'conformers' applies to molecule sources without geometry, not {options.kind!r}")


def _problems(position: int, err: Exception) -> str:
    if isinstance(err, ValidationError):
        return "; ".join(f"sources.{'.'.join(str(p) for p in (position, *e['loc']))}: "
                         f"{e['msg'].removeprefix('Value error, ')}" for e in err.errors())
    return f"sources.{position}.kind: {err}"


class SplitSettings(_Strict):
    method: str = "random"  # random | scaffold | cluster | keep (each record's published split)
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> SplitSettings:
        if self.method not in METHODS:
            raise ValueError(f"split method {self.method!r} unknown; expected one of {', '.join(METHODS)}")
        check_fractions(self.fractions)
        return self


class BuildConfig(_Strict):
    name: str
    description: str = ""
    chunk_size: int = Field(default=1000, ge=1)
    phrasings_dir: str | None = None  # paraphrased phrasing files (`molbridge data paraphrase`)
    plugins: list[str] = Field(default_factory=list)  # modules registering more tasks or sources
    sources: list[SerializeAsAny[SourceOptions]] = Field(min_length=1)
    qc: QCConfig = Field(default_factory=QCConfig)  # validated from the YAML mapping, unknown keys refused
    split: SplitSettings = Field(default_factory=SplitSettings)

    @field_validator("plugins", mode="after")
    @classmethod
    def _import(cls, plugins: list[str]) -> list[str]:
        import_plugins(plugins)
        return plugins

    @field_validator("sources", mode="before")
    @classmethod
    def _by_kind(cls, entries: object) -> object:
        """Each entry validated by its source's own options model."""
        if not isinstance(entries, list):
            return entries
        typed = []
        for position, entry in enumerate(entries):
            if isinstance(entry, dict) and isinstance(entry.get("kind"), str):
                try:
                    entry = SOURCES.get(entry["kind"]).options.model_validate(entry)
                    check_source(entry)
                except (UnknownNameError, ValidationError) as err:
                    raise ValueError(_problems(position, err)) from None
            typed.append(entry)
        return typed

    @model_validator(mode="after")
    def _keepable(self) -> BuildConfig:
        """`split.method: keep` needs a published split on every record: imported files that carry one, or name it."""
        if self.split.method == "keep":
            for position, options in enumerate(self.sources):
                source = SOURCES.get(options.kind)
                if not (source.published_splits or getattr(options, "split", None)):
                    raise ValueError(f"sources.{position}: split.method keep keeps published splits, and "
                                     f"{options.kind!r} records carry none (an imported file names its own with "
                                     "`split:`; records molbridge builds are split by split.method)")
        return self

    def fingerprint(self) -> str:
        """A hash of everything that changes the output: a resumed build must have the same one."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> BuildConfig:
    """Read, override and validate a build config."""
    return load_yaml_config(path, BuildConfig, ConfigError, overrides)

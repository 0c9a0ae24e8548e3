"""The YAML config of `molbridge bench mm`: the data, the grid (outputs × inputs × models) and each cell's budget.

Validated completely before any work (unknown keys, missing files, unknown grid names are `GridConfigError`s
naming the file and key). Offline, ChEBI-20-MM's validation split is the training data and its test split the
test data; a user with the real training split names it as `data.train`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from molbridge.apps.mm_routes import GridSpecError, cells
from molbridge.config_files import load_yaml_config
from molbridge.errors import MolbridgeError
from molbridge.models.causal_lm import DEFAULT_LLM
from molbridge.train.config import LoraSettings


class GridConfigError(MolbridgeError, ValueError):
    """A grid config that cannot be used; names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GridData(_Strict):
    train: str  # a ChEBI-20-MM CSV to train on (offline: its validation split)
    test: str  # a ChEBI-20-MM CSV to test on
    train_rows: int | None = Field(default=None, ge=1)  # first rows of the training file read (None: all)
    test_rows: int | None = Field(default=None, ge=1)
    # test molecules answered by every cell: the first N of the common subset (molecules with every modality)
    test_molecules: int = Field(default=100, ge=1)


class LLMSettings(_Strict):
    model: str = DEFAULT_LLM  # any causal LM (name, local directory or hub id)
    lora: LoraSettings = Field(default_factory=LoraSettings)
    learning_rate: float = Field(default=1e-3, gt=0)
    batch_size: int = Field(default=8, ge=1)


class T5Settings(_Strict):
    model: str | None = None  # a local T5-family directory; None: a small T5 from scratch (`models.t5_scratch`)
    scratch: dict[str, int] = Field(default_factory=dict)  # ScratchT5 sizes of the from-scratch model
    learning_rate: float = Field(default=1e-3, gt=0)
    batch_size: int = Field(default=16, ge=1)


class StructureEncoder(_Strict):
    encoder: str  # a registered encoder reading this modality (`models.encoders.ENCODERS`)
    settings: dict[str, Any] = Field(default_factory=dict)


def _default_encoders() -> dict[str, StructureEncoder]:
    return {"graph": StructureEncoder(encoder="gin"), "image": StructureEncoder(encoder="vit"),
            "conformer": StructureEncoder(encoder="unimol", settings={"dropout": 0.0, "attention_dropout": 0.0})}


class GridConfig(_Strict):
    name: str = "chebi20-mm"
    data: GridData
    outputs: list[str] = Field(min_length=1)  # caption, smiles, selfies, inchi, iupac, property
    inputs: list[str] = Field(min_length=1)  # smiles, selfies, inchi, iupac, caption, graph, image, conformer
    models: list[str] = Field(min_length=1)  # llm, t5, osra
    budget_minutes: float = Field(default=2.0, gt=0)  # training time of each cell
    max_steps: int = Field(default=2000, ge=1)  # the schedule's length if the budget does not end training first
    max_length: int = Field(default=384, ge=32)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    t5: T5Settings = Field(default_factory=T5Settings)
    encoders: dict[str, StructureEncoder] = Field(default_factory=_default_encoders)
    projector: Literal["linear", "mlp"] = "mlp"
    max_new_tokens: dict[str, int] = Field(default_factory=lambda: {
        "caption": 96, "iupac": 64, "smiles": 80, "selfies": 120, "inchi": 96, "property": 10})
    generation_batch: int = Field(default=16, ge=1)
    text_tokenizer: str | None = None  # captions scored MolT5-style with this tokenizer (SciBERT); None: whitespace
    association_tokens: int = Field(default=20, ge=2)  # IUPAC and caption tokens of the association analysis
    seed: int = 0

    @model_validator(mode="after")
    def _known(self) -> GridConfig:
        try:
            chosen = cells(self.outputs, self.inputs, self.models)
        except GridSpecError as err:
            raise ValueError(str(err)) from None
        if not chosen:
            raise ValueError("the grid has no cell: no chosen model reads any chosen input for a chosen output")
        from molbridge.models.encoders import ENCODERS

        for modality, entry in self.encoders.items():
            kind = ENCODERS.get(entry.encoder)
            if kind is None or kind.modality != modality:
                readers = sorted(k.name for k in ENCODERS.values() if k.modality == modality)
                raise ValueError(f"encoders.{modality}: {entry.encoder!r} does not read {modality} inputs; "
                                 f"encoders that do: {', '.join(readers) or 'none'}")
        return self

    def fingerprint(self) -> str:
        """What the cells' results depend on; a grid directory refuses a config with another fingerprint."""
        settings = self.model_dump(mode="json", exclude={"outputs", "inputs", "models", "name"})
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def load_grid_config(path: str | Path, overrides: Sequence[str] = ()) -> GridConfig:
    """Read, override and validate a grid config; data paths relative to the config file are resolved."""
    path = Path(path)
    config = load_yaml_config(path, GridConfig, GridConfigError, overrides)
    resolved = {}
    for key in ("train", "test"):
        given = Path(getattr(config.data, key))
        found = given if given.is_absolute() or given.exists() else path.parent / given
        if not found.is_file():
            raise GridConfigError(f"{path}: data.{key}: {given} is not a file")
        resolved[key] = str(found.resolve())
    for key, value in (("text_tokenizer", config.text_tokenizer), ("t5.model", config.t5.model)):
        if value and not Path(value).exists():
            raise GridConfigError(f"{path}: {key}: {value} does not exist")
    return config.model_copy(update={"data": config.data.model_copy(update=resolved)})

"""The YAML config of `molbridge train`, checked completely before any model is loaded.

Unknown keys, a model path that does not exist, data files that are missing and settings that
cannot work together are `TrainConfigError`s naming the file and key, raised before the first
weight is read; an empty training set is caught when examples are built, still before training.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from molbridge.config_files import load_yaml_config
from molbridge.errors import MolbridgeError
from molbridge.models.causal_lm import DEFAULT_LLM
from molbridge.tasks import TASKS, UnknownNameError


class TrainConfigError(MolbridgeError, ValueError):
    """A training config that cannot be used; names the file and the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(_Strict):
    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    # PEFT's "all-linear": every linear layer of the blocks, not the output head
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class MoETrainSettings(_Strict):
    """Upcycle every LLM MLP into experts before training (SEPIT stage 2, `models/moe.py`): the experts start as
    copies (the model computes what it did), LoRA reaches each expert, the routers train fully, and
    `balance_weight` × the summed Switch balance loss joins the answer loss."""

    experts: int = Field(default=4, ge=2)
    top_k: int = Field(default=1, ge=1)
    capacity_factor: float | None = Field(default=None, gt=0)  # training only; None: no token dropped
    balance_weight: float = Field(default=0.01, ge=0)


class DataSettings(_Strict):
    """Where the examples come from.

    - `instructions`: `dataset` is a `molbridge data build` output directory (or one Parquet file);
      `tasks` keeps some of its tasks (none: all); `limit_per_task` caps each task's training records.
      `neighbours` > 0 shows each record's nearest training records of the same scored group (by
      `retrievers[task]`, default the task's copy retriever; itself excluded) with their answers in its
      prompt, in training and prediction alike: retrieval-augmented prompts for every task (ICMA's idea).
    - `sft` / `icma`: `train` and `eval` are ChEBI-20 TSV files; `tasks` are the registered tasks
      that read ChEBI-20's columns (none: all of them, `mol2text` and `text2mol`). ICMA shows each
      record's `k` nearest training neighbours (by `retrievers[task]`, default the task's copy
      retriever; itself excluded) in the prompt, so the model learns to use retrieved context.
    """

    dataset: str | None = None
    tasks: list[str] = Field(default_factory=list)
    train_split: str = "train"
    eval_split: str = "validation"
    limit_per_task: int | None = Field(default=None, ge=1)
    train: str | None = None
    eval: str | None = None
    limit: int | None = Field(default=None, ge=1)
    k: int = Field(default=2, ge=1)
    neighbours: int = Field(default=0, ge=0)  # instructions: retrieved examples per prompt (0: plain prompts)
    retrievers: dict[str, str] = Field(default_factory=dict)  # task → retriever of its examples (default: copy's)
    eval_examples: int = Field(default=32, ge=0)
    group_balance: float | None = Field(default=None, ge=0, le=1)  # groups drawn ∝ N^power (3D-MoLM stage 3: 0.25)


class LossWeights(_Strict):
    """Stage 1's three Q-Former losses (3D-MoLM: 1 / 1 / 1); 0 turns one off."""

    contrast: float = Field(default=1.0, ge=0)
    match: float = Field(default=1.0, ge=0)
    caption: float = Field(default=1.0, ge=0)


class ProteinTextWeights(_Strict):
    """SEPIT stage 0's three losses (`stage: protein_text`); 0 turns one off."""

    contrast: float = Field(default=1.0, ge=0)
    masked: float = Field(default=1.0, ge=0)
    denoise: float = Field(default=1.0, ge=0)


class MultimodalSettings(_Strict):
    """An encoder read through a projector (DESIGN.md §2: 3D-MoLM, SEPIT).

    - `stage: qformer`: stage 1, the encoder and a Q-Former alone (no LLM): in-batch contrast, matching
      with hard negatives, and Q-Former captioning, on (conformer, caption) pairs.
    - `stage: llm`: soft tokens in the LLM (stages 2 and 3): the prompt carries the encoder's placeholder
      after the task's request and the answer is learned as in text-only training.
    - `stage: mlm`: the protein encoder alone, masked residues (ESM-2's objective; `train.protein_mlm`).
    - `stage: protein_text`: SEPIT's stage 0 on (protein, caption) pairs: contrast with a frozen text tower,
      masked residues, distance denoising (`train.protein_text`; `protein_text_weights`).
    `init_from` takes the encoder and projector weights of an earlier stage's `final/` (a projector
    without `llm_proj`, as stage 1 saves it, gets a fresh one); `encoder_checkpoint` is Uni-Mol's
    released weights (`.pt` of Uni-Core, or safetensors). `train_encoder: false` freezes the encoder
    (3D-MoLM); MolCA trains it.
    """

    stage: Literal["qformer", "llm", "mlm", "protein_text"] = "llm"
    encoder: str = "unimol"
    encoder_settings: dict[str, Any] = Field(default_factory=dict)
    encoder_checkpoint: str | None = None
    projector: Literal["linear", "mlp", "qformer"] = "qformer"
    projector_settings: dict[str, Any] = Field(default_factory=dict)
    # stage 1's captions: a BERT directory's vocabulary (default: the LLM's); protein_text: the frozen text tower
    # (a sentence-transformers directory; default: the packaged MiniLM)
    text_tokenizer: str | None = None
    init_from: str | None = None
    train_encoder: bool = False
    train_projector: bool = True
    loss_weights: LossWeights = Field(default_factory=LossWeights)
    protein_text_weights: ProteinTextWeights = Field(default_factory=ProteinTextWeights)
    temperature: float = Field(default=0.1, gt=0)  # contrast, fixed as in 3D-MoLM
    max_atoms: int = Field(default=256, ge=1)
    max_text_tokens: int = Field(default=128, ge=8)  # stage 1 captions are cut here, as BLIP-2 does
    conformer_fallback: bool = True  # a record without a conformer gets a seeded ETKDG one (else it is left out)


class TrainConfig(_Strict):
    model: str = DEFAULT_LLM  # "smollm2-135m-instruct", a local save_pretrained directory, or a hub id
    task: Literal["instructions", "sft", "icma"] = "instructions"
    method: Literal["lora", "full"] = "lora"
    lora: LoraSettings = Field(default_factory=LoraSettings)
    moe: MoETrainSettings | None = None
    multimodal: MultimodalSettings | None = None
    data: DataSettings = Field(default_factory=DataSettings)
    max_length: int = Field(default=512, ge=16)
    batch_size: int = Field(default=8, ge=1)  # per process and micro-batch
    grad_accum: int = Field(default=1, ge=1)
    learning_rate: float = Field(default=2e-4, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    max_grad_norm: float | None = Field(default=1.0, gt=0)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    max_steps: int = Field(default=200, ge=1)  # optimizer steps: the cosine schedule's length
    budget_minutes: float | None = Field(default=None, gt=0)  # stop (and save) when training time runs out
    # packed: the length-grouped micro-batches with their examples concatenated into rows (causal text runs only)
    batching: Literal["length_grouped", "random", "packed"] = "length_grouped"
    loss_on: Literal["answer", "all"] = "answer"
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 autocast where the GPU/CPU has bf16, else fp32
    eval_every: int = Field(default=50, ge=0)  # 0: only at the end
    eval_generate: int = Field(default=0, ge=0)  # examples generated and scored per evaluation
    save_every: int = Field(default=50, ge=1)
    keep_checkpoints: int = Field(default=2, ge=1)
    log_every: int = Field(default=1, ge=1)
    tensorboard: bool = True
    seed: int = 0
    out: str = "runs/train"

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        data = self.data
        if self.task == "instructions":
            if not data.dataset:
                raise ValueError("data.dataset is required for task 'instructions' (a `molbridge data build` output)")
            if data.train or data.eval:
                raise ValueError("data.train / data.eval are ChEBI-20 files for tasks 'sft' and 'icma'; "
                                 "task 'instructions' reads data.dataset")
            if data.neighbours and self.multimodal is not None:
                raise ValueError("data.neighbours writes retrieved answers into text prompts; a multimodal run "
                                 "reads its records through an encoder (set data.neighbours 0)")
            if data.retrievers and not data.neighbours:
                raise ValueError("data.retrievers chooses how data.neighbours are found: set data.neighbours")
        else:
            if data.neighbours:
                raise ValueError(f"data.neighbours is for task 'instructions'; task {self.task!r} shows data.k "
                                 "neighbours when it is 'icma'")
            if not data.train:
                raise ValueError(f"data.train (a ChEBI-20 TSV) is required for task {self.task!r}")
            if data.dataset:
                raise ValueError(f"data.dataset is for task 'instructions'; task {self.task!r} reads data.train")
            _check_table_tasks(data)
        if self.method == "full" and self.lora != LoraSettings():
            raise ValueError("lora settings were given but method is 'full'")
        if self.moe is not None:
            if self.moe.top_k > self.moe.experts:
                raise ValueError(f"moe.top_k {self.moe.top_k} is over moe.experts {self.moe.experts}")
            if self.method != "lora":
                raise ValueError("moe needs method 'lora' (the base reloads exactly, the adapter and routers are "
                                 "saved); fully fine-tuned experts are not built yet")
            if self.multimodal is not None and self.multimodal.stage != "llm":
                raise ValueError(f"moe upcycles the LLM, which multimodal.stage {self.multimodal.stage!r} does not "
                                 "have")
        if self.multimodal is not None:
            if self.batching == "packed":
                raise ValueError("batching 'packed' concatenates text examples; multimodal batches carry encoder "
                                 "inputs per example: use length_grouped")
            if self.task != "instructions":
                raise ValueError("multimodal training reads a built dataset's records (task 'instructions'), "
                                 "whose conformers it encodes")
            if self.multimodal.stage == "qformer" and self.multimodal.projector != "qformer":
                raise ValueError("multimodal.stage 'qformer' trains a Q-Former: set multimodal.projector 'qformer'")
            if self.loss_on != "answer":
                raise ValueError("multimodal training learns answers only (loss_on: answer): a prompt's soft-token "
                                 "positions have no token to predict")
            if self.multimodal.stage == "qformer" and self.eval_generate:
                raise ValueError("stage 1 has no LLM to generate with: set eval_generate 0 (score it by retrieval "
                                 "with `molbridge predict RUN`)")
            if self.multimodal.stage in ("mlm", "protein_text") and (
                    self.eval_generate or self.multimodal.encoder != "esm_structure"):
                raise ValueError(f"multimodal.stage {self.multimodal.stage!r} pre-trains the protein encoder without "
                                 "an LLM: set encoder 'esm_structure' and eval_generate 0")
        return self

    def fingerprint(self) -> str:
        """A hash of everything that changes training (not `out` or the budget): a resume must match it."""
        settings = self.model_dump(mode="json", exclude={"out", "budget_minutes", "eval_every", "eval_generate",
                                                         "log_every", "tensorboard", "keep_checkpoints"})
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def table_tasks(data: DataSettings) -> list[str]:
    """The tasks trained on ChEBI-20 tables: the configured ones, or every task that reads ChEBI-20's columns."""
    return data.tasks or [t.name for t in TASKS if t.molt5]


def _check_table_tasks(data: DataSettings) -> None:
    for name in table_tasks(data):
        try:
            task = TASKS.get(name)
        except UnknownNameError as err:
            raise ValueError(f"data.tasks: {err}") from None
        if task.molt5 is None:
            raise ValueError(f"data.tasks: {name!r} does not read ChEBI-20 tables (task 'instructions' trains it)")
    unknown = sorted(set(data.retrievers) - set(table_tasks(data)))
    if unknown:
        raise ValueError(f"data.retrievers: {', '.join(unknown)} is not among the trained tasks")


def check_paths(config: TrainConfig, where: str) -> None:
    """Files the config names must exist (a hub id for the model is left to the loader)."""
    from molbridge.errors import MissingResourceError
    from molbridge.models.causal_lm import resolve_model

    if config.model != DEFAULT_LLM:
        try:
            resolve_model(config.model)
        except MissingResourceError as err:
            raise TrainConfigError(f"{where}: model: {err}") from None
    for key in ("dataset", "train", "eval"):
        value = getattr(config.data, key)
        if value and not Path(value).exists():
            raise TrainConfigError(f"{where}: data.{key}: {value} does not exist")
    multimodal = config.multimodal
    if multimodal is not None:
        for key in ("encoder_checkpoint", "init_from", "text_tokenizer"):
            value = getattr(multimodal, key)
            if value and not Path(value).exists():
                raise TrainConfigError(f"{where}: multimodal.{key}: {value} does not exist")
        bert = multimodal.projector_settings.get("bert")
        if bert and not Path(bert).is_dir():
            raise TrainConfigError(f"{where}: multimodal.projector_settings.bert: {bert} is not a directory")
        from molbridge.models.encoders import ENCODERS

        if multimodal.encoder not in ENCODERS:
            raise TrainConfigError(f"{where}: multimodal.encoder: {multimodal.encoder!r} is not one of "
                                   f"{', '.join(sorted(ENCODERS))}")
        if multimodal.encoder_checkpoint and multimodal.encoder != "unimol":
            raise TrainConfigError(f"{where}: multimodal.encoder_checkpoint holds Uni-Mol weights; encoder "
                                   f"{multimodal.encoder!r} takes its weights from encoder_settings (e.g. `model`)")


def load_train_config(path: str | Path, overrides: Sequence[str] = (), out: str | None = None) -> TrainConfig:
    """Read, override and validate a training config; `out` (the command line's) wins over the file's."""
    config = load_yaml_config(path, TrainConfig, TrainConfigError, overrides)
    if out is not None:
        config = config.model_copy(update={"out": out})
    check_paths(config, str(path))
    return config

"""Build, save and load a whole multimodal assembly: LLM (+ adapter), encoder, projector, tokenizer, config.

A saved assembly is a directory: `multimodal.json` (format, base LLM, how the LLM was trained,
encoder and projector kinds with the settings that rebuild their shapes), `encoder.safetensors`,
`projector.safetensors`, `tokenizer/` (with the placeholder token) and `llm/` (a PEFT adapter
for "lora", the full model for "full", absent for "frozen": the base is reloaded). An assembly
whose LLM was upcycled into experts (SEPIT stage 2, `moe`) also keeps the earlier stage's adapter
(`llm_merged/`): it rebuilds as base → that adapter merged → experts copied → its own adapter. Stage 1 (no
LLM: `llm_method` "none") saves the same encoder and projector files, its contrast / match /
caption heads (`heads.safetensors`) and the Q-Former's text tokenizer, so the next stage starts
from it (`load_bridge`) and retrieval is evaluated on it (`load_stage1`). Each is written to a
staging directory and renamed, so a crash leaves the previous one or none, never a mix. Nothing
is unpickled: weights are safetensors, settings JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load_file, save_file

from molbridge.atomic import atomic_directory
from molbridge.errors import FileFormatError, MissingResourceError
from molbridge.models.causal_lm import DEFAULT_LLM, load_causal_lm
from molbridge.models.encoders import EncoderKind, encoder_kind
from molbridge.models.multimodal import MultimodalLM
from molbridge.models.projectors import Projector, QFormerProjector, make_projector
from molbridge.models.qformer_pretraining import QFormerPretraining

FORMAT = "molbridge.multimodal/1"
INFO_FILE = "multimodal.json"
LlmMethod = Literal["lora", "full", "frozen", "none"]
MERGED = "llm_merged"


@dataclass(frozen=True)
class AssemblySpec:
    """What an assembly is made of; JSON-able, so a saved one rebuilds from it."""

    llm: str = DEFAULT_LLM  # unused by stage 1 ("none")
    encoder: str = "unimol"
    encoder_settings: dict[str, Any] = field(default_factory=dict)
    projector: str = "qformer"
    projector_settings: dict[str, Any] = field(default_factory=dict)
    llm_method: LlmMethod = "lora"
    moe: dict[str, Any] | None = None  # models.moe.MoESettings of an upcycled LLM
    premerged: str | None = None  # an adapter merged into the base before upcycling (a path; saved as llm_merged/)


def build_multimodal(spec: AssemblySpec, *, dtype: torch.dtype = torch.float32, tokenizer=None) -> MultimodalLM:
    """Fresh encoder and projector (or the projector's BERT init) on the base LLM; no adapter yet. `tokenizer`:
    the one examples were made with (the base's, with the placeholder), else the base's own."""
    llm, base_tokenizer = load_causal_lm(spec.llm, dtype=dtype)
    tokenizer = tokenizer or base_tokenizer
    kind = encoder_kind(spec.encoder)
    encoder = kind.make(spec.encoder_settings)
    projector = make_projector(spec.projector, encoder.output_dim, _width(llm),
                               spec.projector_settings)
    return _upcycled(MultimodalLM(llm, tokenizer, encoder, projector, kind), spec, Path("."))


def _upcycled(model: MultimodalLM, spec: AssemblySpec, root: Path) -> MultimodalLM:
    """The LLM with an earlier adapter merged and its MLPs upcycled, as `spec` says (after the placeholder row was
    added: the earlier adapter was trained with it). `root`: where a relative `premerged` path lives."""
    if spec.premerged:
        from peft import PeftModel

        model.llm = PeftModel.from_pretrained(model.llm, root / spec.premerged).merge_and_unload()
    if spec.moe:
        from molbridge.models.moe import MoESettings, upcycle

        upcycle(model.llm, MoESettings(**spec.moe))
    return model


def save_multimodal(model: MultimodalLM, spec: AssemblySpec, target: str | Path,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write the assembly to `target` atomically; `extra` (steps, fingerprint, …) goes into the JSON."""
    target = Path(target)
    with atomic_directory(target) as staging:
        if spec.premerged:
            import shutil

            shutil.copytree(spec.premerged, staging / MERGED)
            spec = replace(spec, premerged=MERGED)
        _write_bridge(staging, spec, model.kind, model.encoder, model.projector, extra)
        model.tokenizer.save_pretrained(staging / "tokenizer")
        if spec.llm_method != "frozen":
            model.llm.save_pretrained(staging / "llm")
        if spec.llm_method == "full":  # a complete model directory that transformers loads on its own
            model.tokenizer.save_pretrained(staging / "llm")
    return target


def save_stage1(model: QFormerPretraining, spec: AssemblySpec, tokenizer, target: str | Path,
                extra: dict[str, Any] | None = None) -> Path:
    """Stage 1's encoder, Q-Former (no `llm_proj`), heads and text tokenizer, atomically."""
    target = Path(target)
    with atomic_directory(target) as staging:
        _write_bridge(staging, replace(spec, llm_method="none"), encoder_kind(spec.encoder), model.encoder,
                      model.projector, {**(extra or {}), "temperature": model.temperature})
        save_file(_contiguous(model.heads_state()), staging / "heads.safetensors")
        tokenizer.save_pretrained(staging / "tokenizer")
    return target


def load_bridge(path: str | Path) -> tuple[Any, dict[str, torch.Tensor], dict[str, Any]]:
    """(encoder with its weights, the projector's state dict, the saved info) of any saved stage: what the next
    stage starts from."""
    path = Path(path)
    info = read_info(path)
    encoder = encoder_kind(info["encoder"]).make(info["encoder_settings"])
    encoder.load_state_dict(load_file(path / "encoder.safetensors"))
    return encoder, load_file(path / "projector.safetensors"), info


def load_stage1(path: str | Path) -> tuple[QFormerPretraining, Any]:
    """A saved stage 1 in eval mode with its text tokenizer (retrieval evaluation, matching re-rank)."""
    from transformers import AutoTokenizer

    path = Path(path)
    encoder, projector_state, info = load_bridge(path)
    projector = make_projector("qformer", encoder.output_dim, None, info["projector_settings"])
    projector.load_state_dict(projector_state)
    assert isinstance(projector, QFormerProjector)  # stage 1 trains a Q-Former (the config requires it)
    model = QFormerPretraining(encoder, projector, temperature=info["temperature"])
    model.load_heads(load_file(path / "heads.safetensors"))
    return model.eval(), AutoTokenizer.from_pretrained(path / "tokenizer")


def _write_bridge(staging: Path, spec: AssemblySpec, kind: EncoderKind, encoder: Any, projector: Projector,
                  extra: dict[str, Any] | None) -> None:
    info = {"format": FORMAT, **asdict(spec), "encoder_settings": kind.settings_of(encoder),
            "projector_settings": projector.settings(), **(extra or {})}
    save_file(_contiguous(encoder.state_dict()), staging / "encoder.safetensors")
    save_file(_contiguous(projector.state_dict()), staging / "projector.safetensors")
    (staging / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")


def load_multimodal(path: str | Path, *, dtype: torch.dtype = torch.float32, merge: bool = True) -> MultimodalLM:
    """A saved assembly in eval mode; a LoRA adapter merged into the LLM unless `merge=False` (to train on)."""
    path = Path(path)
    info = read_info(path)
    spec = AssemblySpec(**{k: info[k] for k in AssemblySpec.__dataclass_fields__ if k in info})
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path / "tokenizer")
    if spec.llm_method == "full":
        llm, _ = load_causal_lm(str(path / "llm"), dtype=dtype)
    else:
        llm, _ = load_causal_lm(spec.llm, dtype=dtype)
    kind = encoder_kind(spec.encoder)
    encoder = kind.make(spec.encoder_settings)
    projector = make_projector(spec.projector, encoder.output_dim, _width(llm),
                               spec.projector_settings)
    encoder.load_state_dict(load_file(path / "encoder.safetensors"))
    projector.load_state_dict(load_file(path / "projector.safetensors"))
    model = MultimodalLM(llm, tokenizer, encoder, projector, kind)  # adds the placeholder row before the adapter
    _upcycled(model, spec, path)
    if spec.llm_method == "lora":
        from peft import PeftModel

        adapted = PeftModel.from_pretrained(model.llm, path / "llm", is_trainable=not merge)
        model.llm = adapted.merge_and_unload() if merge else adapted
    tokenizer.padding_side = "left"
    return model.eval()


def read_info(path: Path) -> dict[str, Any]:
    file = path / INFO_FILE
    if not file.is_file():
        raise MissingResourceError(f"{path} is not a saved multimodal model (no {INFO_FILE})")
    info = json.loads(file.read_text())
    if info.get("format") != FORMAT:
        raise FileFormatError(str(file), None, f"format {info.get('format')!r}, expected {FORMAT!r}")
    return info


def _contiguous(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().contiguous() for name, tensor in state.items()}


def _width(llm: Any) -> int:
    return int(llm.get_input_embeddings().embedding_dim)

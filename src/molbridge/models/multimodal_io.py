"""Build, save and load a whole multimodal assembly: LLM (+ adapter), encoder, projector, tokenizer, config.

A saved assembly is a directory: `multimodal.json` (format, base LLM, how the LLM was trained,
encoder and projector kinds with the settings that rebuild their shapes), `encoder.safetensors`,
`projector.safetensors`, `tokenizer/` (with the placeholder token) and `llm/` (a PEFT adapter
for "lora", the full model for "full", absent for "frozen": the base is reloaded). It is written
to a staging directory and renamed, so a crash leaves the previous one or none, never a mix.
Nothing is unpickled: weights are safetensors, settings JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load_file, save_file

from molbridge.atomic import atomic_directory
from molbridge.errors import FileFormatError, MissingResourceError
from molbridge.models.causal_lm import DEFAULT_LLM, load_causal_lm
from molbridge.models.encoders import encoder_kind
from molbridge.models.multimodal import MultimodalLM
from molbridge.models.projectors import make_projector

FORMAT = "molbridge.multimodal/1"
INFO_FILE = "multimodal.json"
LlmMethod = Literal["lora", "full", "frozen"]


@dataclass(frozen=True)
class AssemblySpec:
    """What an assembly is made of; JSON-able, so a saved one rebuilds from it."""

    llm: str = DEFAULT_LLM
    encoder: str = "unimol"
    encoder_settings: dict[str, Any] = field(default_factory=dict)
    projector: str = "qformer"
    projector_settings: dict[str, Any] = field(default_factory=dict)
    llm_method: LlmMethod = "lora"


def build_multimodal(spec: AssemblySpec, *, dtype: torch.dtype = torch.float32) -> MultimodalLM:
    """Fresh encoder and projector (or the projector's BERT init) on the base LLM; no adapter yet."""
    llm, tokenizer = load_causal_lm(spec.llm, dtype=dtype)
    kind = encoder_kind(spec.encoder)
    encoder = kind.make(spec.encoder_settings)
    projector = make_projector(spec.projector, encoder.output_dim, _width(llm),
                               spec.projector_settings)
    return MultimodalLM(llm, tokenizer, encoder, projector, kind)


def save_multimodal(model: MultimodalLM, spec: AssemblySpec, target: str | Path,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write the assembly to `target` atomically; `extra` (steps, fingerprint, …) goes into the JSON."""
    target = Path(target)
    kind = model.kind
    info = {"format": FORMAT, **asdict(spec), "encoder_settings": kind.settings_of(model.encoder),
            "projector_settings": model.projector.settings(), **(extra or {})}
    with atomic_directory(target) as staging:
        save_file(_contiguous(model.encoder.state_dict()), staging / "encoder.safetensors")
        save_file(_contiguous(model.projector.state_dict()), staging / "projector.safetensors")
        model.tokenizer.save_pretrained(staging / "tokenizer")
        if spec.llm_method != "frozen":
            model.llm.save_pretrained(staging / "llm")
        if spec.llm_method == "full":  # a complete model directory that transformers loads on its own
            model.tokenizer.save_pretrained(staging / "llm")
        (staging / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return target


def load_multimodal(path: str | Path, *, dtype: torch.dtype = torch.float32, merge: bool = True) -> MultimodalLM:
    """A saved assembly in eval mode; a LoRA adapter merged into the LLM unless `merge=False` (to train on)."""
    path = Path(path)
    info = read_info(path)
    spec = AssemblySpec(**{k: info[k] for k in AssemblySpec.__dataclass_fields__})
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

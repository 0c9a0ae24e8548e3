"""The model being trained: loading (causal or seq2seq, LoRA or full, optionally upcycled into experts), the
loss, and the saved result.

Answer-only loss computes the vocabulary projection only where a label is learned. Why: with
SmolLM2's 49,152-token vocabulary the output head over every position is a large share of a
training step on CPU, and prompts (especially ICMA prompts with retrieved examples) are most of
the tokens; the loss is the same number as transformers' `labels=` loss (tested).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch
import torch.nn.functional as F
from torch import nn

from molbridge.errors import MissingResourceError
from molbridge.models.causal_lm import DEFAULT_LLM, load_causal_lm, resolve_model
from molbridge.models.moe import MoESettings, moe_blocks, total_balance_loss, upcycle
from molbridge.train.config import MoETrainSettings, TrainConfig

if TYPE_CHECKING:
    from transformers import PreTrainedModel

INFO_FILE = "molbridge-model.json"


def is_seq2seq(name_or_path: str) -> bool:
    if name_or_path == DEFAULT_LLM:
        return False
    from transformers import AutoConfig

    return bool(AutoConfig.from_pretrained(resolve_model(name_or_path)).is_encoder_decoder)


def load_tokenizer(config: TrainConfig):
    """The tokenizer alone (cheap): examples are built and checked before any weight is read."""
    from transformers import AutoTokenizer

    if config.model == DEFAULT_LLM:
        from molbridge.models.causal_lm import ensure_default_model

        tokenizer = AutoTokenizer.from_pretrained(ensure_default_model())
    else:
        try:
            tokenizer = AutoTokenizer.from_pretrained(resolve_model(config.model))
        except OSError as err:
            raise MissingResourceError(f"could not load the tokenizer of {config.model!r}: {err}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_for_training(config: TrainConfig, dtype: torch.dtype = torch.float32) -> tuple[nn.Module, bool]:
    """The model in train mode with LoRA adapters (only they train) or all weights trainable; seq2seq or not."""
    seq2seq = is_seq2seq(config.model)
    if seq2seq:
        from transformers import AutoModelForSeq2SeqLM

        model = AutoModelForSeq2SeqLM.from_pretrained(resolve_model(config.model), dtype=dtype)
    else:
        model, _ = load_causal_lm(config.model, dtype=dtype, attn_implementation=attention_implementation())
        upcycled(model, config.moe)
    if config.method == "lora":
        from peft import get_peft_model

        model = get_peft_model(model, lora_config(config, "SEQ_2_SEQ_LM" if seq2seq else "CAUSAL_LM"))
    model.train()
    return model, seq2seq


def lora_config(config: TrainConfig, task_type: str = "CAUSAL_LM"):
    """PEFT's LoRA settings of a config; with experts, every expert's projections get adapters (they match by
    name) and the routers train in full (`modules_to_save`), never adapted."""
    from peft import LoraConfig

    lora = config.lora
    routers = ["router"] if config.moe else None
    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=lora.target_modules,
                      task_type=task_type, modules_to_save=routers, exclude_modules=routers)


def upcycled(model: nn.Module, settings: MoETrainSettings | dict | None) -> nn.Module:
    """`model` with its MLPs upcycled into experts when `settings` (a config's, or a saved model's) ask for it."""
    if settings:
        values = settings.model_dump() if isinstance(settings, MoETrainSettings) else settings
        upcycle(model, MoESettings(**values))
    return model


def attention_implementation() -> str | None:
    """FlashAttention-2 on a CUDA GPU where the flash-attn package is installed; else transformers' default."""
    import importlib.util

    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return None


class AnswerLoss(nn.Module):
    """The SUM of cross-entropy over the learned label positions; one module, so DDP sees one forward.

    A sum, not a mean: the loop divides by the answer tokens of the whole optimizer step (all
    micro-batches, all ranks), so every token weighs the same however the step is split. With an
    `embedder` (a multimodal model: the LLM is its `llm`) the prompt enters as embeddings, its
    placeholders filled with soft tokens from the batch's encoder inputs.
    """

    def __init__(self, model: nn.Module, seq2seq: bool, embedder: nn.Module | None = None) -> None:
        super().__init__()
        self.model, self.seq2seq, self.embedder = model, seq2seq, embedder
        blocks = moe_blocks(model)
        self.balance_weight = blocks[0].settings.balance_weight if blocks else 0.0

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *, labels: torch.Tensor,
                position_ids: torch.Tensor | None = None, **encoder_batch: torch.Tensor) -> torch.Tensor:
        """A padded batch has an `attention_mask`; a packed one (`batches.collate_packed`) has `position_ids`."""
        answer = self._answer_loss(input_ids, attention_mask, labels, position_ids, **encoder_batch)
        if not self.balance_weight or not self.training:  # held-out loss: the answers only, comparable to dense
            return answer
        # the loop divides by the step's answer tokens: the balance term is weighted by this batch's share
        learned = (labels[:, 1:] != -100).sum()
        return answer + self.balance_weight * total_balance_loss(self.model) * learned

    def _answer_loss(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, labels: torch.Tensor,
                     position_ids: torch.Tensor | None = None, **encoder_batch: torch.Tensor) -> torch.Tensor:
        inputs = ({"inputs_embeds": self.embedder.inputs_embeds(input_ids, encoder_batch)}  # type: ignore[operator]
                  if self.embedder is not None else {"input_ids": input_ids})
        if self.seq2seq:
            mean = self.model(**inputs, attention_mask=attention_mask, labels=labels).loss
            return mean * (labels != -100).sum()
        # a transformers model: the one PEFT wraps (its get_base_model is typed nn.Module), or the model itself;
        # torch types attribute access on an nn.Module as Tensor | Module, hence the ignore
        base = cast("PreTrainedModel", self.model.get_base_model()  # type: ignore[operator]
                    if hasattr(self.model, "get_base_model") else self.model)
        targets = labels[:, 1:]
        learned = targets != -100
        # no cache: transformers looks for packed examples in position_ids only when it builds none
        context = {"attention_mask": attention_mask, "position_ids": position_ids, "use_cache": False}
        if not _plain_head(base):
            mean = self.model(**inputs, **context, labels=labels).loss
            return mean * learned.sum()
        decoder = getattr(base, base.base_model_prefix)
        hidden = decoder(**inputs, **context).last_hidden_state
        logits = base.get_output_embeddings()(hidden[:, :-1][learned])
        return F.cross_entropy(logits.float(), targets[learned], reduction="sum")


def _plain_head(base: PreTrainedModel) -> bool:
    """Whether logits are just the output head on the last hidden state (no soft-capping or scaling)."""
    config = base.config
    return (hasattr(base, "base_model_prefix") and hasattr(base, base.base_model_prefix)
            and base.get_output_embeddings() is not None
            and not getattr(config, "final_logit_softcapping", None) and not getattr(config, "logit_scale", None))


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights that training changes (LoRA adapters, or everything), detached copies."""
    return {name: p.detach().clone().contiguous() for name, p in model.named_parameters() if p.requires_grad}


def save_trained(model: nn.Module, tokenizer, config: TrainConfig, seq2seq: bool, target: Path, steps: int) -> None:
    """A PEFT adapter or a full model with its tokenizer and what it was trained from (and for how many steps)."""
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)  # type: ignore[operator]  # a PEFT or transformers model; see AnswerLoss.forward
    tokenizer.save_pretrained(target)
    info = {"base": config.model, "method": config.method, "task": config.task, "seq2seq": seq2seq,
            "max_length": config.max_length, "fingerprint": config.fingerprint(), "steps": steps,
            "moe": config.moe.model_dump() if config.moe else None}
    (target / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")


def model_identity(info: dict) -> str:
    """What names a trained model's weights (settings and steps; a plain model by its path), for caches."""
    return f"{info.get('fingerprint', info.get('base'))}:{info.get('steps', '')}"


def load_trained(path: str | Path, dtype: torch.dtype = torch.float32):
    """(model in eval mode, tokenizer left-padded, info) of a trained model directory, or of any HF model.

    A run directory is accepted too (its `final/`). A plain model directory or hub id loads as is.
    """
    path = Path(path)
    if (path / "final" / INFO_FILE).is_file():
        path = path / "final"
    if not (path / INFO_FILE).is_file():
        model, tokenizer = load_causal_lm(str(path), dtype=dtype)
        return model, tokenizer, {"base": str(path), "method": "none", "seq2seq": False}
    info = json.loads((path / INFO_FILE).read_text())
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    if info["method"] == "lora":
        from peft import PeftModel

        if info["seq2seq"]:
            base = AutoModelForSeq2SeqLM.from_pretrained(resolve_model(info["base"]), dtype=dtype)
        else:
            base, _ = load_causal_lm(info["base"], dtype=dtype)
            upcycled(base, info.get("moe"))  # the experts' base weights are the dense MLP's: upcycling restores them
        model = PeftModel.from_pretrained(base, path).merge_and_unload()
    elif info["seq2seq"]:
        model = AutoModelForSeq2SeqLM.from_pretrained(path, dtype=dtype)
    else:
        model, _ = load_causal_lm(str(path), dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.eval()
    return model, tokenizer, info

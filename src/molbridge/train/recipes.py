"""What one training run is made of, by kind: the loop (`train.loop`) asks its recipe, never the config.

- `TextRecipe`: an LLM (causal or seq2seq, LoRA or full) on text prompts and answers.
- `SoftTokenRecipe` (`multimodal.stage: llm`, 3D-MoLM stages 2 and 3): the same answer-only loss,
  the prompt entering as embeddings whose placeholders carry an encoder's projected states.
- `QFormerRecipe` (`multimodal.stage: qformer`, stage 1): the encoder and a Q-Former alone on
  (molecule, caption) pairs with the contrast, match and caption losses.

A recipe gives the tokenizer, the examples (training, held-out, problems), their encoding, the
weight of an encoded item in a step's mean (answer tokens; one per pair for stage 1), batches,
the model with the module the loop differentiates, the final save and the model that held-out
generation runs on. Every run thus keeps the loop's guarantees: planned length-grouped batches,
budget, atomic checkpoints, exact resume, DDP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from molbridge.chem.conformer_tokens import ConformerInputError
from molbridge.errors import EncoderInputError
from molbridge.models.causal_lm import chat_prompt
from molbridge.models.encoders import EncoderKind, encoder_kind
from molbridge.models.multimodal_io import AssemblySpec, build_multimodal, read_info, save_multimodal, save_stage1
from molbridge.models.projectors import QFormerProjector, QFormerSettings
from molbridge.records import Record
from molbridge.tasks import Task
from molbridge.train.batches import IGNORE, Encoded, collate, collate_packed, encode, learned_tokens
from molbridge.train.config import MultimodalSettings, TrainConfig, TrainConfigError
from molbridge.train.examples import Example, ExampleError, Prepared, config_examples, example
from molbridge.train.modeling import (
    AnswerLoss,
    attention_implementation,
    is_seq2seq,
    load_for_training,
    load_tokenizer,
    lora_config,
    save_trained,
)
from molbridge.train.protein_mlm import ProteinMLMRecipe
from molbridge.train.protein_text import ProteinTextRecipe


class TextRecipe:
    """Text prompts and answers through an LLM (the default)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.tokenizer = load_tokenizer(config)
        self.seq2seq = is_seq2seq(config.model)
        if self.seq2seq and config.batching == "packed":
            raise TrainConfigError(f"batching 'packed' is for causal models; {config.model} is an encoder-decoder: "
                                   "use length_grouped")
        # FlashAttention-2 finds packed examples in one row only; sdpa and eager take rows of max_length
        self.row_tokens = None if attention_implementation() == "flash_attention_2" else config.max_length

    def examples(self) -> Prepared:
        return config_examples(self.config, self.tokenizer)

    def encode(self, examples: Sequence[Example], *, held_out: bool = False) -> tuple[list[Encoded], list[str]]:
        return encode(examples, self.tokenizer, self.config.max_length,
                      loss_on="answer" if held_out else self.config.loss_on, seq2seq=self.seq2seq)

    def weight(self, item: Encoded) -> int:
        return learned_tokens(item, self.seq2seq)

    def collate(self, items: Sequence[Encoded]) -> dict[str, torch.Tensor]:
        if self.config.batching == "packed":
            return collate_packed(items, self.tokenizer.pad_token_id, self.row_tokens)
        return collate(items, self.tokenizer.pad_token_id, seq2seq=self.seq2seq)

    def build(self) -> tuple[nn.Module, nn.Module]:
        model, _ = load_for_training(self.config)
        return model, AnswerLoss(model, self.seq2seq)

    def save(self, model: nn.Module, target: Path, step: int) -> None:
        save_trained(model, self.tokenizer, self.config, self.seq2seq, target, step)

    def generator(self, loss_module: nn.Module) -> Any:
        return loss_module.model


class EncoderInputs:
    """Records → encoder inputs for the multimodal recipes; a record without a conformer gets a seeded ETKDG one
    when a conformer encoder reads it and the settings allow (a graph or image encoder never waits for one), and
    one that still cannot be read raises `ConformerInputError` naming it."""

    def __init__(self, kind: EncoderKind, settings: MultimodalSettings, seed: int) -> None:
        self.kind, self.settings, self.seed = kind, settings, seed

    def item(self, record: Record) -> Any:
        if (self.kind.modality == "conformer" and record.modalities.conformer is None
                and self.settings.conformer_fallback and record.modalities.smiles):
            from molbridge.chem.conformers import ConformerError, embed_conformer
            from molbridge.records import Conformer

            try:
                geometry = embed_conformer(record.modalities.smiles, seed=self.seed)
            except ConformerError as err:
                raise ConformerInputError(record.id, f"no conformer stored, and ETKDG failed: {err.cause}") from None
            conformer = Conformer(atoms=geometry.atoms, coords=geometry.coords, method=geometry.method)
            record = record.model_copy(update={"modalities": record.modalities.model_copy(
                update={"conformer": conformer})})
        return self.kind.featurize(record, self.seed, max_atoms=self.settings.max_atoms)


# the inputs a task must declare (`Task.consumes`) for an encoder of each modality to read its records: the
# encoder reads the record's own molecule or protein, which for a task with another input (a caption, a
# reaction's reactants) is the answer or part of it
ENCODED_INPUTS = {"conformer": frozenset({"smiles", "selfies", "inchi", "iupac", "conformer"}),
                  "graph": frozenset({"smiles", "selfies", "inchi", "iupac"}), "image": frozenset({"image", "smiles"}),
                  "protein": frozenset({"protein_sequence", "protein_coords"})}


def soft_token_examples(records: Sequence[Record], task: Task, tokenizer, *, inputs: EncoderInputs,
                        count: Callable[[Any], int]) -> tuple[list[Example], list[str]]:
    """Each record's request, then its molecule as placeholders (`count(item)` of them); a record whose molecule
    cannot be encoded keeps its place without a prompt (left out of training, answered empty and scored invalid
    when held out) and is named. A task molbridge builds whose input is not the encoded molecule or protein is
    refused (imported tasks declare no inputs: their records carry the molecule of their input)."""
    readable = ENCODED_INPUTS.get(inputs.kind.modality, frozenset())
    if task.build is not None and not readable & set(task.consumes):
        raise ExampleError(f"task {task.name!r} takes {', '.join(task.consumes) or 'text'} as its input, not the "
                           f"record's {inputs.kind.modality}: soft tokens of the record's own molecule or protein "
                           "would show the model its answer; train it without an encoder")
    made, problems = [], []
    placeholder = inputs.kind.placeholder
    for record in records:
        try:
            item = inputs.item(record)
        except EncoderInputError as err:
            problems.append(f"{record.id}:{task.name}: {err.reason}")
            made.append(example(record, task, None))
            continue
        prompt = chat_prompt(tokenizer, f"{task.request(record)}\n{inputs.kind.label}: {placeholder * count(item)}")
        made.append(replace(example(record, task, prompt), item=item))
    return made, problems


def resolved_spec(config: TrainConfig) -> AssemblySpec:
    """The assembly a multimodal run builds: an earlier stage's shapes (`init_from`) win over the config's."""
    settings = config.multimodal
    assert settings is not None
    encoder, encoder_settings = settings.encoder, dict(settings.encoder_settings)
    projector_settings = dict(settings.projector_settings)
    if settings.encoder_checkpoint:  # released or pre-trained weights fix the encoder's shapes
        from dataclasses import asdict

        from molbridge.models.encoders.unimol_weights import config_from_state, read_state

        shapes = asdict(config_from_state(read_state(settings.encoder_checkpoint), settings.encoder_checkpoint))
        sizes = ("layers", "embed_dim", "ffn_dim", "heads", "kernels", "vocab_size")
        encoder_settings = {**encoder_settings, **{k: shapes[k] for k in sizes}}
    moe = config.moe.model_dump() if config.moe else None
    if settings.init_from:
        info = read_info(Path(settings.init_from))
        moe, premerged = _moe_chain(config, info)
        if info["projector"] != settings.projector:
            raise ExampleError(f"multimodal.init_from {settings.init_from} holds a {info['projector']!r} projector, "
                               f"the config asks for {settings.projector!r}")
        encoder, encoder_settings = info["encoder"], info["encoder_settings"]
        projector_settings = dict(info["projector_settings"])
        if info["projector"] == "qformer":
            projector_settings["bert"] = None  # its weights come from the earlier stage, not a BERT again
        if info["llm_method"] == "lora" and info["llm"] != config.model:
            raise ExampleError(f"multimodal.init_from {settings.init_from} trained an adapter on {info['llm']!r}; "
                               f"this config names model {config.model!r}: use the same base model")
        if info["llm_method"] == "lora" and config.method == "full":
            raise ExampleError(f"multimodal.init_from {settings.init_from} holds a LoRA adapter; go on with "
                               "method: lora (full fine-tuning would drop it)")
        if info["llm_method"] == "full":  # an earlier stage that trained the whole LLM: go on from its weights
            return AssemblySpec(str(Path(settings.init_from) / "llm"), encoder, encoder_settings, settings.projector,
                                projector_settings, "full" if config.method == "full" else "lora", moe)
        return AssemblySpec(config.model, encoder, encoder_settings, settings.projector, projector_settings,
                            "lora" if config.method == "lora" else "full", moe, premerged)
    return AssemblySpec(config.model, encoder, encoder_settings, settings.projector, projector_settings,
                        "lora" if config.method == "lora" else "full", moe)


def _moe_chain(config: TrainConfig, earlier: dict[str, Any]) -> tuple[dict | None, str | None]:
    """(experts, adapter merged before them) of a stage after `earlier`: an upcycled earlier stage passes on its
    own; a first MoE stage merges the earlier LoRA adapter and copies the merged MLPs into experts."""
    root = Path(str(config.multimodal.init_from)) if config.multimodal else Path(".")
    asked = config.moe.model_dump() if config.moe else None
    if earlier.get("moe"):
        if asked and asked != earlier["moe"]:
            raise ExampleError(f"multimodal.init_from {root} already has experts {earlier['moe']}; the config asks "
                               f"for {asked}: drop `moe` to go on with them")
        return earlier["moe"], str(root / earlier["premerged"]) if earlier.get("premerged") else None
    if asked and earlier["llm_method"] == "lora":
        return asked, str(root / "llm")
    return asked, None


def _starting_weights(config: TrainConfig, encoder: nn.Module, projector: nn.Module) -> None:
    """Released encoder weights, or an earlier stage's encoder and projector (a missing `llm_proj` stays fresh)."""
    settings = config.multimodal
    assert settings is not None
    if settings.encoder_checkpoint:
        from molbridge.models.encoders.unimol_weights import load_unimol_checkpoint

        released, _ = load_unimol_checkpoint(settings.encoder_checkpoint)
        encoder.load_state_dict(released.state_dict())
    if settings.init_from:
        from molbridge.models.multimodal_io import load_bridge

        earlier, projector_state, _ = load_bridge(settings.init_from)
        encoder.load_state_dict(earlier.state_dict())
        missing, unexpected = projector.load_state_dict(projector_state, strict=False)
        if unexpected or any(not name.startswith("llm_proj.") for name in missing):
            raise ExampleError(f"multimodal.init_from {settings.init_from}: projector weights do not fit "
                               f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    encoder.requires_grad_(settings.train_encoder)
    projector.requires_grad_(settings.train_projector)


class SoftTokenRecipe(TextRecipe):
    """Stages 2 and 3: the task's request followed by the molecule's placeholder tokens; answer-only loss."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__(config)
        assert config.multimodal is not None  # recipe_for picks this recipe for multimodal configs only
        self.spec = resolved_spec(config)
        self.inputs = EncoderInputs(encoder_kind(self.spec.encoder), config.multimodal, config.seed)
        placeholder = self.inputs.kind.placeholder
        if placeholder not in self.tokenizer.get_vocab():
            self.tokenizer.add_special_tokens({"additional_special_tokens": [placeholder]},
                                              replace_extra_special_tokens=False)
        queries = (int(self.spec.projector_settings.get("queries", QFormerSettings.queries))
                   if self.spec.projector == "qformer" else None)
        self.build_examples = partial(soft_token_examples, inputs=self.inputs,
                                      count=lambda item: queries or self.inputs.kind.length(item))

    def examples(self) -> Prepared:
        return config_examples(self.config, self.tokenizer, build=self.build_examples)

    def collate(self, items: Sequence[Encoded]) -> dict[str, torch.Tensor]:
        return {**collate(items, self.tokenizer.pad_token_id), **self.inputs.kind.collate([i.item for i in items])}

    def build(self) -> tuple[nn.Module, nn.Module]:
        model = build_multimodal(self.spec, tokenizer=self.tokenizer)
        _starting_weights(self.config, model.encoder, model.projector)
        if isinstance(model.projector, QFormerProjector):
            model.projector.freeze_text_path()  # soft tokens come from the query path alone
        earlier = self.config.multimodal.init_from if self.config.multimodal else None
        upcycled_now = self.config.moe is not None and not (earlier and read_info(Path(earlier)).get("moe"))
        if self.config.method == "lora" and earlier and read_info(Path(earlier))["llm_method"] == "lora" \
                and not upcycled_now:
            from peft import PeftModel  # stage 3 goes on training stage 2's adapter

            model.llm = PeftModel.from_pretrained(model.llm, Path(earlier) / "llm", is_trainable=True)
        elif self.config.method == "lora":
            from peft import get_peft_model

            model.llm = get_peft_model(model.llm, lora_config(self.config))
        model.train()
        return model, AnswerLoss(model.llm, False, embedder=model)

    def save(self, model: nn.Module, target: Path, step: int) -> None:
        assert isinstance(model, nn.Module)
        save_multimodal(model, self.spec, target, _run_info(self.config, step))  # type: ignore[arg-type]

    def generator(self, loss_module: nn.Module) -> Any:
        return loss_module.embedder


def caption_pairs(records: Sequence[Record], task: Task, tokenizer, *, inputs: EncoderInputs,
                  seen: set[tuple[str, str]]) -> tuple[list[Example], list[str]]:
    """(molecule, caption) examples, one per molecule and caption however many tasks carry them (`seen` is shared
    across calls); a molecule that cannot be encoded is named and left out."""
    made, problems = [], []
    for record in records:
        caption = record.modalities.caption
        key = (record.modalities.smiles or record.id, caption or "")
        if not caption or key in seen:
            continue
        seen.add(key)
        try:
            item = inputs.item(record)
        except EncoderInputError as err:
            problems.append(f"{record.id}: {err.reason}")
            continue
        made.append(Example(record.id, task.name, "text", None, caption, group="caption",
                            source=record.modalities.smiles or "", item=item))
    return made, problems


class QFormerRecipe:
    """Stage 1: (conformer, caption) pairs, one per molecule and caption, through the encoder and Q-Former."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        settings = config.multimodal
        assert settings is not None
        self.settings = settings
        self.tokenizer = _text_tokenizer(config)
        self.spec = resolved_spec(config)
        self.inputs = EncoderInputs(encoder_kind(self.spec.encoder), settings, config.seed)
        self.pairs = partial(caption_pairs, inputs=self.inputs, seen=set())

    def examples(self) -> Prepared:
        try:
            return config_examples(self.config, self.tokenizer, build=self.pairs)
        except ExampleError as err:
            raise ExampleError(f"{err}: stage 1 needs records with a caption and a molecule (e.g. ChEBI-20's "
                               "mol2text) in data.tasks") from None

    def encode(self, examples: Sequence[Example], *, held_out: bool = False) -> tuple[list[Encoded], list[str]]:
        cut = self.settings.max_text_tokens
        return [Encoded(self.tokenizer(e.answer, truncation=True, max_length=cut)["input_ids"], [], e.item)
                for e in examples], []

    def weight(self, item: Encoded) -> int:
        return 1

    def collate(self, items: Sequence[Encoded]) -> dict[str, torch.Tensor]:
        batch = collate([Encoded(i.input_ids, [IGNORE] * len(i.input_ids)) for i in items],
                        self.tokenizer.pad_token_id)
        batch.pop("labels")
        return {**batch, **self.inputs.kind.collate([i.item for i in items])}

    def build(self) -> tuple[nn.Module, nn.Module]:
        from molbridge.models.projectors import QFormerProjector, QFormerSettings
        from molbridge.models.qformer_pretraining import QFormerPretraining

        spec = self.spec
        encoder = self.inputs.kind.make(spec.encoder_settings)
        projector_settings = {"vocab_size": len(self.tokenizer), "pad_token_id": self.tokenizer.pad_token_id or 0,
                              **spec.projector_settings}
        projector = QFormerProjector(encoder.output_dim, None, QFormerSettings(**projector_settings))
        if len(self.tokenizer) > projector.qformer.config.vocab_size:
            raise ExampleError(f"the caption tokenizer has {len(self.tokenizer)} tokens, the Q-Former's vocabulary "
                               f"{projector.qformer.config.vocab_size}: set multimodal.text_tokenizer to its BERT")
        _starting_weights(self.config, encoder, projector)
        model = QFormerPretraining(encoder, projector, temperature=self.settings.temperature,
                                   weights=self.settings.loss_weights.model_dump())
        model.train()
        return model, PairLoss(model, self.settings.loss_weights.model_dump())

    def save(self, model: nn.Module, target: Path, step: int) -> None:
        save_stage1(model, self.spec, self.tokenizer, target, _run_info(self.config, step))  # type: ignore[arg-type]

    def generator(self, loss_module: nn.Module) -> Any:
        return None


class PairLoss(nn.Module):
    """Stage 1's weighted loss as a sum over the pairs (the loop divides by the pairs of the step)."""

    def __init__(self, model: nn.Module, weights: dict[str, float]) -> None:
        super().__init__()
        self.model, self.weights = model, weights

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **encoder_batch: torch.Tensor
                ) -> torch.Tensor:
        losses = self.model(input_ids, attention_mask, **encoder_batch)
        return sum(self.weights[name] * value for name, value in losses.items()) * input_ids.shape[0]


def _text_tokenizer(config: TrainConfig):
    """Stage 1's caption tokenizer: the configured BERT's, the projector's BERT's, else the LLM's."""
    from transformers import AutoTokenizer

    settings = config.multimodal
    assert settings is not None
    source = settings.text_tokenizer or settings.projector_settings.get("bert")
    tokenizer = AutoTokenizer.from_pretrained(source) if source else load_tokenizer(config)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _run_info(config: TrainConfig, steps: int) -> dict[str, Any]:
    return {"task": config.task, "max_length": config.max_length, "fingerprint": config.fingerprint(),
            "steps": steps}


Recipe = TextRecipe | QFormerRecipe | ProteinMLMRecipe | ProteinTextRecipe


def recipe_for(config: TrainConfig) -> Recipe:
    """The recipe a config asks for."""
    if config.multimodal is None:
        return TextRecipe(config)
    if config.multimodal.stage == "mlm":
        return ProteinMLMRecipe(config)
    if config.multimodal.stage == "protein_text":
        return ProteinTextRecipe(config)
    return QFormerRecipe(config) if config.multimodal.stage == "qformer" else SoftTokenRecipe(config)

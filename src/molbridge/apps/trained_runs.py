"""A finished `molbridge train` run as an application uses it: its model, and how its held-out examples are made.

Text runs load as before (`train.modeling.load_trained`); a soft-token run (3D-MoLM stages 2 and 3)
loads the whole assembly and prompts each held-out record as in training, its molecule encoded
again; a stage-1 run has no LLM to answer with and is evaluated by molecule ↔ text retrieval.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from molbridge.apps.mol_text_retrieval import Pair, retrieval_reports
from molbridge.eval.results import MetricReport
from molbridge.models.encoders import encoder_kind
from molbridge.models.multimodal_io import INFO_FILE, load_multimodal, load_stage1, read_info
from molbridge.progress import ProgressFn
from molbridge.train.config import TrainConfig, TrainConfigError
from molbridge.train.examples import ExampleBuilder, instruction_examples, plain_builder

ENCODER_ONLY = ("mlm", "protein_text")  # stages whose final/ is an encoder directory, not a model that answers


def run_config(run: Path) -> TrainConfig:
    """The configuration a `molbridge train` run was trained with (its config.yaml)."""
    from molbridge.config_files import load_yaml_config

    path = run / "config.yaml"
    if not path.is_file():
        raise TrainConfigError(f"{run}: not a training run directory (no config.yaml)")
    return load_yaml_config(path, TrainConfig, TrainConfigError)


def final_dir(run: Path) -> Path:
    return run / "final" if (run / "final").is_dir() else run


def is_stage1(run: Path) -> bool:
    """A stage-1 run: an encoder and a Q-Former without an LLM."""
    final = final_dir(run)
    return (final / INFO_FILE).is_file() and read_info(final)["llm_method"] == "none"


def load_for_prediction(run: Path, config: TrainConfig) -> tuple[Any, Any, str, ExampleBuilder]:
    """(model in eval mode, tokenizer, the identity of its weights, how held-out records become examples)."""
    final = final_dir(run)
    if config.multimodal is not None and config.multimodal.stage in ENCODER_ONLY:
        raise TrainConfigError(f"{run}: a {config.multimodal.stage!r} run trains the protein encoder alone and has "
                               f"nothing to answer with; use {final} as a later stage's multimodal.encoder_settings."
                               "model")
    if not (final / INFO_FILE).is_file():
        from molbridge.train.modeling import load_trained, model_identity

        model, tokenizer, info = load_trained(run)
        return model, tokenizer, model_identity(info), plain_builder
    from molbridge.train.recipes import EncoderInputs, soft_token_examples

    info = read_info(final)
    model = load_multimodal(final)
    assert config.multimodal is not None  # a run that saved an assembly was configured with one
    inputs = EncoderInputs(model.kind, config.multimodal, config.seed)
    build = partial(soft_token_examples, inputs=inputs, count=model.soft_count)
    return model, model.tokenizer, f"{info.get('fingerprint')}:{info.get('steps')}", build


def stage1_retrieval(run: Path, config: TrainConfig, split: str, *, batch_size: int = 64, rerank_top: int = 64,
                     limit: int | None = None, progress: ProgressFn | None = None) -> dict[str, MetricReport]:
    """Retrieval reports of a stage-1 run on one split of its dataset (every pair with a caption)."""
    from molbridge.train.recipes import EncoderInputs, caption_pairs

    final = final_dir(run)
    model, tokenizer = load_stage1(final)
    kind = encoder_kind(read_info(final)["encoder"])
    assert config.multimodal is not None and config.data.dataset is not None  # a stage-1 run's config has both
    build = partial(caption_pairs, inputs=EncoderInputs(kind, config.multimodal, config.seed), seen=set())
    examples = instruction_examples(config.data.dataset, split, config.data.tasks, tokenizer, build=build)
    pairs = [Pair(e.id, e.item, e.answer) for e in examples if e.item is not None][:limit]
    return retrieval_reports(model, tokenizer, kind, pairs, max_text_tokens=config.multimodal.max_text_tokens,
                             batch_size=batch_size, rerank_top=rerank_top, progress=progress)

"""A learned cell of the ChEBI-20-MM grid: its `molbridge train` config, the run, and its answers on the test records.

The cell's records (`data/` in its directory) are a built dataset of one task, so training, prompting and
prediction are exactly those of `molbridge train` / `molbridge predict`: the LLM with LoRA (a structure input
through its registered encoder and the projector, encoder trained with it), or a T5 trained fully.
"""

from __future__ import annotations

from pathlib import Path

from molbridge.apps.mm_config import GridConfig
from molbridge.apps.mm_routes import Route
from molbridge.apps.predict import Prediction
from molbridge.train.config import TrainConfig

T5_SCRATCH_DIR = Path("models") / "t5-scratch"  # inside the grid directory


def t5_model(config: GridConfig, grid: Path) -> str:
    """The grid's T5: the configured directory, or the from-scratch one (made once, before any cell runs)."""
    if config.t5.model:
        return config.t5.model
    from molbridge.models.t5_scratch import ScratchT5, scratch_t5

    return str(scratch_t5(grid / T5_SCRATCH_DIR, ScratchT5(**config.t5.scratch), seed=config.seed))


def cell_train_config(config: GridConfig, grid: Path, where: Path, route: Route, model: str) -> TrainConfig:
    """The training settings of one cell: its task on its own records, the grid's budget and model settings."""
    common = {"task": "instructions", "data": {"dataset": str(where / "data"), "tasks": [route.task],
                                               "eval_examples": 0},
              "max_length": config.max_length, "max_steps": config.max_steps, "budget_minutes": config.budget_minutes,
              "warmup_ratio": 0.05, "eval_every": 0, "save_every": 25, "tensorboard": False, "seed": config.seed,
              "out": str(where / "train")}
    if model == "t5":
        return TrainConfig(model=t5_model(config, grid), method="full", learning_rate=config.t5.learning_rate,
                           batch_size=config.t5.batch_size, **common)
    settings = config.llm
    multimodal = None
    if route.structure:
        encoder = config.encoders[route.input]
        multimodal = {"stage": "llm", "encoder": encoder.encoder, "encoder_settings": encoder.settings,
                      "projector": config.projector, "train_encoder": True}
    return TrainConfig(model=settings.model, method="lora", lora=settings.lora, learning_rate=settings.learning_rate,
                       batch_size=settings.batch_size, multimodal=multimodal, **common)


def train_cell(train_config: TrainConfig) -> dict:
    """Train (or resume) the cell's model; what the results table shows of the run."""
    from molbridge.train.loop import train

    result = train(train_config)
    return {"steps": result.steps, "planned_steps": result.planned_steps, "stopped": result.stopped,
            "train_examples": result.train_examples, "left_out": result.left_out, "tokens_seen": result.real_tokens,
            "seconds": round(result.seconds, 1), "final_loss": result.final_loss}


def answer_test(config: GridConfig, where: Path, route: Route, train_config: TrainConfig) -> list[Prediction]:
    """Greedy answers to every test record, prompted as in training (resumes a partial prediction file)."""
    from molbridge.apps.predict import predict_to_file
    from molbridge.apps.trained_runs import load_for_prediction
    from molbridge.train.examples import prediction_examples

    answerer, tokenizer, model_id, build = load_for_prediction(Path(train_config.out), train_config)
    examples = prediction_examples(train_config, tokenizer, split="test", build=build)
    return predict_to_file(where / "predictions.jsonl", answerer, tokenizer, examples, model_id=model_id,
                           max_new_tokens=config.max_new_tokens.get(route.output), batch_size=config.generation_batch)

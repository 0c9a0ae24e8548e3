"""`molbridge train`: one Accelerate training loop for LoRA or full fine-tuning, resumable exactly.

The same loop runs in one process on a laptop CPU and under `accelerate launch` / `torchrun` on
GPUs with DDP (FSDP and DeepSpeed are refused: checkpoints are not sharded). Every rank computes
the same examples and the same micro-batch plan and takes its own slice of it, so the batches,
the RNG state and the schedule after a resume are the ones an uninterrupted run would have had;
a test checks that the weights come out identical. At the end the ranks compare checksums of
their trainable weights and the run fails loudly if they ever diverged.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict, cast

import torch
import yaml
from torch.optim.lr_scheduler import LambdaLR

from molbridge.atomic import atomic_directory, write_json, write_text
from molbridge.errors import MolbridgeError
from molbridge.eval.versions import package_versions
from molbridge.progress import ProgressFn, report
from molbridge.train import checkpoints
from molbridge.train.batches import BatchPlan
from molbridge.train.config import TrainConfig
from molbridge.train.examples import Example, ExampleError, spread
from molbridge.train.modeling import trainable_state
from molbridge.train.recipes import Recipe, recipe_for
from molbridge.train.run_log import RunLog

SUMMARY = "train_state.json"
GenerationScores = Callable[..., dict]  # (model, tokenizer, examples) → {group: {metric: value}}


class TrainingError(MolbridgeError, RuntimeError):
    """Training went wrong in a way the user must see (ranks diverged, the loss became NaN)."""


class LoopState(TypedDict):
    """What a run carries from step to step and through checkpoints (a checkpoint's `state.json`)."""

    real_tokens: int
    padded_tokens: int
    seconds: float
    evaluations: list[dict]
    replanned: NotRequired[bool]  # the schedule was fitted to the time budget
    # written by checkpoints.save, so present after a resume
    step: NotRequired[int]
    fingerprint: NotRequired[str]
    world_size: NotRequired[int]
    planned_steps: NotRequired[int]


@dataclass
class TrainResult:
    out: str
    steps: int
    planned_steps: int
    stopped: str  # "max_steps" | "budget"
    train_examples: int
    left_out: int
    real_tokens: int
    padded_tokens: int
    seconds: float
    real_tokens_per_s: float
    padded_tokens_per_s: float
    final_loss: float | None
    eval_loss: float | None
    rank_checksums: list[float] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)


def _precision(config: TrainConfig) -> str:
    """Accelerate's mixed-precision mode: bf16 autocast (fp32 master weights) where the hardware has bf16
    arithmetic — a GPU that supports it, or a CPU with AVX512-BF16 / AMX (1.4-1.8x on SmolLM2 LoRA here)."""
    if config.precision == "bf16":
        return "bf16"
    if config.precision == "fp32":
        return "no"
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    return "bf16" if _cpu_has_bf16() else "no"


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def train(config: TrainConfig, *, progress: ProgressFn | None = None,
          generation_scores: GenerationScores | None = None) -> TrainResult:
    """Train (or resume, or find finished) the run in `config.out`; returns its summary.

    Progress: stage "train", optimizer steps. `generation_scores(model, tokenizer, examples)` generates and scores
    held-out examples at each evaluation (`eval_generate`; `molbridge.apps.scoring.generation_scores`). A run
    directory of other settings is refused before anything in it changes.
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedType, set_seed

    out = Path(config.out)
    done = _finished(out, config)
    if done is not None:
        return done
    if config.eval_generate and generation_scores is None:
        raise TrainingError("eval_generate needs a scorer of generations: pass generation_scores="
                            "molbridge.apps.scoring.generation_scores (`molbridge train` does)")
    try:
        accelerator = Accelerator(mixed_precision=_precision(config), cpu=not torch.cuda.is_available())
    except ValueError as err:  # Accelerate fixes the precision once per process
        raise TrainingError(f"precision {config.precision!r} ({_precision(config)}) differs from an earlier run in "
                            f"this process; Accelerate allows one per process, so train it in a new process ({err})"
                            ) from None
    if accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED):
        raise TrainingError("FSDP and DeepSpeed are not supported: checkpoints, evaluation and the final save are "
                            "per process, not sharded; train with DDP (accelerate launch --multi_gpu, or torchrun)")
    rank, world, main = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process
    found = checkpoints.step_dirs(out / "checkpoints")
    if found:
        checkpoints.check_settings(found[-1], config.fingerprint(), world)

    recipe = recipe_for(config)
    prepared = recipe.examples()
    encoded, too_long = recipe.encode(prepared.train)
    if not encoded:
        raise ExampleError(f"all {len(prepared.train)} training examples are over max_length {config.max_length}")
    problems = prepared.problems + too_long
    left_out = len(problems)  # training examples; held-out ones are named after them
    eval_encoded, eval_left_out = recipe.encode(prepared.evaluation, held_out=True)
    if main:
        write_text(out / "config.yaml", yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        held_out = [f"held out {p}" for p in prepared.held_out_problems + eval_left_out]
        write_text(out / "left_out.txt", "".join(f"{p}\n" for p in problems + held_out))
        versions = package_versions("molbridge", "torch", "transformers", "peft", "accelerate", "rdkit")
        write_json(out / "versions.json", {**versions, "world_size": world, "mixed_precision": _precision(config)})
    accelerator.wait_for_everyone()

    set_seed(config.seed)  # the same LoRA initialisation on every rank
    model, loss_module = recipe.build()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = checkpoints.CosineWithWarmup(math.ceil(config.warmup_ratio * config.max_steps), config.max_steps)
    scheduler = LambdaLR(optimizer, schedule)
    loss_module, optimizer = accelerator.prepare(loss_module, optimizer)

    plan = BatchPlan([len(e.input_ids) for e in encoded], config.batch_size, config.seed,
                     config.batching != "random")  # packed: the length-grouped batches, packed
    learned = [recipe.weight(e) for e in encoded]
    state: LoopState = {"real_tokens": 0, "padded_tokens": 0, "seconds": 0.0, "evaluations": []}
    step = 0
    if found:
        # the JSON state that checkpoint() saved: LoopState plus the step
        state = cast(LoopState, checkpoints.load(found[-1], model, optimizer, scheduler, rank, world,
                                                 config.fingerprint()))
        step = state["step"]
    run_log = RunLog(out, step, config.tensorboard) if main else None
    device = accelerator.device
    stopped, loss_value, eval_loss, step_seconds = "max_steps", None, None, []

    def checkpoint() -> None:
        checkpoints.save(out / "checkpoints", step, trainable_state(model), optimizer, scheduler,
                         {**state, "fingerprint": config.fingerprint(), "world_size": world,
                          "planned_steps": schedule.total}, rank, accelerator.wait_for_everyone,
                         config.keep_checkpoints)

    while step < schedule.total:
        started = time.perf_counter()
        micro_batches = [(step * config.grad_accum + micro) * world for micro in range(config.grad_accum)]
        # the loss is a mean over the answer tokens of the whole step (every micro-batch, every rank), as
        # transformers >= 4.46 computes it; every rank knows the plan, so no communication is needed
        step_tokens = max(1, sum(learned[i] for m in micro_batches for r in range(world) for i in plan[m + r]))
        loss_sum, real, padded = 0.0, 0, 0
        for micro, m in enumerate(micro_batches):
            batch = recipe.collate([encoded[i] for i in plan[m + rank]])
            real, padded = real + int(batch.pop("real_tokens")), padded + int(batch.pop("padded_tokens"))
            sync = accelerator.no_sync(loss_module) if micro < config.grad_accum - 1 else contextlib.nullcontext()
            with sync, accelerator.autocast():
                loss = loss_module(**{k: v.to(device) for k, v in batch.items()})
                accelerator.backward(loss * (world / step_tokens))  # DDP averages over ranks: × world
            loss_sum += float(loss.detach())
        grad_norm = accelerator.clip_grad_norm_(params, config.max_grad_norm) if config.max_grad_norm else None
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        elapsed = time.perf_counter() - started
        over = config.budget_minutes is not None and state["seconds"] + elapsed >= config.budget_minutes * 60
        totals = accelerator.reduce(torch.tensor([loss_sum, real, padded, elapsed, float(over)], dtype=torch.float64,
                                                 device=device), "sum")
        loss_value, real, padded = float(totals[0]) / step_tokens, int(totals[1]), int(totals[2])
        elapsed = float(totals[3]) / world
        if not math.isfinite(loss_value):
            raise TrainingError(f"step {step}: the loss is {loss_value}; lower learning_rate or check the data")
        state["real_tokens"] += real
        state["padded_tokens"] += padded
        state["seconds"] += elapsed
        step_seconds.append(elapsed)
        if config.budget_minutes is not None and len(step_seconds) == 3 and not state.get("replanned"):
            _replan(schedule, step, config, sum(step_seconds[1:]) / 2, state["seconds"])
            state["replanned"] = True
        row = {"step": step, "epoch": round(plan.epoch_of(step * config.grad_accum * world), 4), "loss": loss_value,
               "lr": scheduler.get_last_lr()[0], "grad_norm": float(grad_norm) if grad_norm is not None else "",
               "real_tokens": state["real_tokens"], "padded_tokens": state["padded_tokens"],
               "real_tokens_per_s": real / elapsed, "padded_tokens_per_s": padded / elapsed,
               "elapsed_s": round(state["seconds"], 3)}
        last = step >= schedule.total or float(totals[4]) > 0
        if eval_encoded and ((config.eval_every and step % config.eval_every == 0) or last):
            eval_loss = _evaluate(accelerator, loss_module, eval_encoded, prepared.evaluation, config, recipe, step,
                                  state, generation_scores)
            row["eval_loss"] = eval_loss
        if run_log is not None and (step % config.log_every == 0 or last):
            run_log.step(row)
        if main:
            report(progress, "train", step, schedule.total, unit="steps",
                   note=f"loss {loss_value:.3f}, {row['real_tokens_per_s']:.0f} tokens/s",
                   values={"loss": loss_value, "real_tokens_per_s": row["real_tokens_per_s"]})
        if step % config.save_every == 0 or last:
            checkpoint()
        if float(totals[4]) > 0:
            stopped = "budget"
            break
    if run_log is not None:
        run_log.close()
    return _finish(accelerator, model, recipe, config, step, schedule.total, stopped, state, len(encoded), left_out,
                   loss_value, eval_loss)


def _replan(schedule: checkpoints.CosineWithWarmup, step: int, config: TrainConfig, step_s: float,
            spent_s: float) -> None:
    """Fit the schedule's length to the time budget from the measured step time (once, after step 3)."""
    assert config.budget_minutes is not None  # called only for a run with a time budget
    remaining = config.budget_minutes * 60 - spent_s
    total = min(config.max_steps, step + max(0, int(remaining / max(step_s, 1e-9))))
    schedule.total = max(total, step)
    schedule.warmup = min(schedule.warmup, math.ceil(config.warmup_ratio * schedule.total))


def _evaluate(accelerator, loss_module, eval_encoded, eval_examples: list[Example], config: TrainConfig,
              recipe: Recipe, step: int, state: LoopState, generation_scores: GenerationScores | None) -> float | None:
    """Answer-token loss on the held-out examples and, with `eval_generate`, engine scores of generations."""
    value = None
    if accelerator.is_main_process:
        module = accelerator.unwrap_model(loss_module)
        module.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(eval_encoded), config.batch_size):
                items = eval_encoded[start:start + config.batch_size]
                batch = recipe.collate(items)
                for key in ("real_tokens", "padded_tokens"):
                    batch.pop(key)
                with accelerator.autocast():
                    total += float(module(**{k: v.to(accelerator.device) for k, v in batch.items()}))
                count += sum(recipe.weight(item) for item in items)
        value = total / max(count, 1)
        evaluation: dict = {"step": step, "eval_loss": value}
        if config.eval_generate and generation_scores is not None:
            chosen = spread(eval_examples, config.eval_generate)
            evaluation["scores"] = generation_scores(recipe.generator(module), recipe.tokenizer, chosen)
        state["evaluations"].append(evaluation)
        module.train()
    accelerator.wait_for_everyone()
    return value


def _finish(accelerator, model, recipe: Recipe, config: TrainConfig, step: int, planned: int, stopped: str,
            state: LoopState, n_train: int, n_left_out: int, loss_value, eval_loss) -> TrainResult:
    """Check the ranks agree, save the trained model atomically and write the run summary."""
    checksum = torch.tensor([sum(float(p.detach().double().sum()) for p in model.parameters() if p.requires_grad)],
                            dtype=torch.float64, device=accelerator.device)
    checksums = [float(c) for c in accelerator.gather(checksum)]
    if len(set(checksums)) > 1:
        raise TrainingError(f"trainable weights differ between ranks after step {step}: checksums {checksums}")
    out = Path(config.out)
    result = TrainResult(str(out), step, planned, stopped, n_train, n_left_out, state["real_tokens"],
                         state["padded_tokens"], round(state["seconds"], 3),
                         state["real_tokens"] / max(state["seconds"], 1e-9),
                         state["padded_tokens"] / max(state["seconds"], 1e-9), loss_value, eval_loss, checksums,
                         state["evaluations"])
    if accelerator.is_main_process:
        with atomic_directory(out / "final") as staging:
            recipe.save(accelerator.unwrap_model(model), staging, step)
        write_json(out / SUMMARY, {**asdict(result), "fingerprint": config.fingerprint()})
    accelerator.wait_for_everyone()
    return result


def _finished(out: Path, config: TrainConfig) -> TrainResult | None:
    """The summary of a finished run with the same settings (a rerun is a no-op), else None."""
    path = out / SUMMARY
    if not path.is_file() or not (out / "final").is_dir():
        return None
    summary = json.loads(path.read_text())
    if summary.pop("fingerprint", None) != config.fingerprint():
        return None
    more_time = config.budget_minutes is None or config.budget_minutes * 60 > summary["seconds"]
    if summary["stopped"] == "budget" and more_time:
        return None  # stopped by a budget that has since grown: resume from the last checkpoint
    return TrainResult(**summary)

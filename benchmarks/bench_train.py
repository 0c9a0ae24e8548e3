"""Training throughput: `molbridge train` (padded and packed) vs a plain Hugging Face `Trainer`; BENCHMARKS.md.

    python benchmarks/bench_train.py [--records 200] [--steps 14] [--warmup-steps 2] [--precisions fp32 bf16]

Both sides fine-tune SmolLM2-135M-Instruct with the same LoRA adapters (r 16, alpha 32, dropout 0.05,
every linear layer), AdamW at 2e-4, a cosine schedule, batch 8, no accumulation, on the same
examples: ChEBI-20 validation records as SFT pairs in both directions (molecule → caption, caption
→ molecule), max length 256, loss on the answer only, length-grouped batches. The Trainer gets
the same tokenised examples (prompt labels -100) through `DataCollatorForSeq2Seq` and
`train_sampling_strategy="group_by_length"`. Each runs `--steps` optimizer steps; throughput is measured over the steps
after the first `--warmup-steps` (per-step wall time), for fp32 and for bf16 autocast, in one run
of this script. Real tokens (attention mask) and padded slots are counted separately on both sides.

`molbridge train` runs twice: with length-grouped padded batches (the default) and with `batching: packed`, the
same planned micro-batches with their examples concatenated into rows of at most max length (position ids
restarting per example, a block-causal mask). The two learn from the same examples at every step, so the mean
training loss over the timed steps is reported for every row: packing is a layout change and must not move it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import peft
import torch
import transformers

from molbridge.data.formats.chebi20_tables import records_from_chebi20
from molbridge.retrieval.icl import fixed_subset
from molbridge.train.batches import encode
from molbridge.train.config import TrainConfig
from molbridge.train.examples import chebi20_examples
from molbridge.train.loop import train
from molbridge.train.modeling import load_for_training, load_tokenizer
from molbridge.train.run_log import read_log
from report import (
    write_section,  # benchmarks/ is the script's directory, hence on sys.path
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOLBRIDGE_SHARED", REPO.parent / "shared")) / "data"
COMMAND = "python benchmarks/bench_train.py"
PRECISIONS = ("fp32", "bf16")
SIDES = {"molbridge": ("molbridge train", "length_grouped"), "packed": ("molbridge train, packed", "packed"),
         "trainer": ("HF Trainer", "")}  # side → (row name, molbridge batching)
SETTINGS = {"batch_size": 8, "learning_rate": 2e-4, "max_length": 256, "warmup_ratio": 0.0, "max_grad_norm": 1.0,
            "lora": {"r": 16, "alpha": 32, "dropout": 0.05}}


def molbridge_run(train_file: Path, steps: int, precision: str, out: Path, batching: str) -> list[dict]:
    config = TrainConfig(task="sft", data={"train": str(train_file), "eval_examples": 0}, max_steps=steps,
                         precision=precision, eval_every=0, save_every=steps, tensorboard=False, out=str(out),
                         batching=batching, **SETTINGS)
    train(config)
    rows = read_log(out / "log.csv")
    previous = 0.0
    steps_out = []
    for row in rows:
        elapsed = float(row["elapsed_s"])
        real_s = float(row["real_tokens_per_s"])
        seconds = elapsed - previous
        steps_out.append({"seconds": seconds, "real": real_s * seconds,
                          "padded": float(row["padded_tokens_per_s"]) * seconds, "loss": float(row["loss"])})
        previous = elapsed
    return steps_out


class _Timer(transformers.TrainerCallback):
    """Per-step wall time and the loss the Trainer logs after each step (logging runs after `on_step_end`, so
    outside the timed span)."""

    def __init__(self) -> None:
        self.starts, self.seconds, self.losses = 0.0, list[float](), list[float]()

    def on_step_begin(self, args, state, control, **kwargs):
        self.starts = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self.starts)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))


def trainer_run(train_file: Path, steps: int, precision: str, out: Path) -> list[dict]:
    """The plain-Trainer side: same model, adapters, examples, labels, batch and optimizer settings."""
    config = TrainConfig(task="sft", data={"train": str(train_file)}, **SETTINGS)
    tokenizer = load_tokenizer(config)
    examples, _ = chebi20_examples(records_from_chebi20(train_file), config.data, tokenizer, pool=None,
                                   max_length=config.max_length)
    encoded, _ = encode(examples, tokenizer, config.max_length)
    torch.manual_seed(0)
    model, _ = load_for_training(config)
    dataset = [{"input_ids": e.input_ids, "attention_mask": [1] * len(e.input_ids), "labels": e.labels}
               for e in encoded]
    counted: list[tuple[int, int]] = []
    collator = transformers.DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)

    def collate(features):
        batch = collator(features)
        counted.append((int(batch["attention_mask"].sum()), batch["input_ids"].numel()))
        return batch

    args = transformers.TrainingArguments(
        output_dir=str(out), max_steps=steps, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, lr_scheduler_type="cosine", warmup_steps=0, max_grad_norm=1.0,
        train_sampling_strategy="group_by_length", logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
        bf16=precision == "bf16", dataloader_num_workers=0, disable_tqdm=True, seed=0, remove_unused_columns=False)
    timer = _Timer()
    trainer = transformers.Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate,
                                   callbacks=[timer])
    trainer.train()
    # the dataloader may fetch one batch ahead; the first `steps` batches are the ones trained on
    return [{"seconds": s, "real": r, "padded": p, "loss": loss}
            for s, (r, p), loss in zip(timer.seconds, counted, timer.losses, strict=False)]


def summarise(rows: list[dict], skip: int) -> dict:
    kept = rows[skip:]
    seconds = sum(r["seconds"] for r in kept)
    return {"steps": len(kept), "seconds": seconds, "real": sum(r["real"] for r in kept) / seconds,
            "padded": sum(r["padded"] for r in kept) / seconds, "loss": sum(r["loss"] for r in kept) / len(kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--steps", type=int, default=14)
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS))
    parser.add_argument("--target", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--one", nargs=3, metavar=("PRECISION", "SIDE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # one measurement in this process: Accelerate's precision is fixed once per process
        precision, side, work = args.one
        train_file, out = Path(work) / "train.txt", Path(work) / f"{side}-{precision}"
        rows = (trainer_run(train_file, args.steps, precision, out) if side == "trainer"
                else molbridge_run(train_file, args.steps, precision, out, SIDES[side][1]))
        print("RESULT " + json.dumps(summarise(rows, args.warmup_steps)))
        return
    work = Path(tempfile.mkdtemp(prefix="molbridge-bench-train-"))
    records = fixed_subset(records_from_chebi20(SHARED / "chebi20" / "validation.txt"), args.records, seed=0)
    lines = (SHARED / "chebi20" / "validation.txt").read_text().splitlines()
    wanted = {r.meta.source_id for r in records}
    (work / "train.txt").write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.split("\t", 1)[0] in wanted])
                                    + "\n")
    results = {}
    load = os.getloadavg()[0]
    try:
        for precision in args.precisions:
            for side, (name, _) in SIDES.items():
                done = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--warmup-steps",
                                       str(args.warmup_steps), "--one", precision, side, str(work)],
                                      capture_output=True, text=True, check=True)
                line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
                results[(precision, name)] = json.loads(line[len("RESULT "):])
                print(precision, name, results[(precision, name)], file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_section("bench_train", render(args, results, load, os.getloadavg()[0]), args.target)
    print(f"wrote {args.target}", file=sys.stderr)


def render(args, results: dict, load_start: float, load_end: float) -> str:
    precisions = "" if tuple(args.precisions) == PRECISIONS else f" --precisions {' '.join(args.precisions)}"
    lines = [
        "## Training throughput (`benchmarks/bench_train.py`)", "",
        f"Run {date.today()} with `{COMMAND} --records {args.records} --steps {args.steps} --warmup-steps "
        f"{args.warmup_steps}{precisions}` on {os.cpu_count()} cores, Python {platform.python_version()}, torch "
        f"{torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}. Load average "
        f"(1 min) at the start: {load_start:.1f}, at the end: {load_end:.1f} (the machine is shared).",
        f"SmolLM2-135M-Instruct, LoRA r 16 on every linear layer, batch 8, max length 256, answer-only loss, "
        f"length-grouped batches (packed: the same batches in rows of at most 256 tokens), {args.records} ChEBI-20 "
        f"validation records in both directions. Throughput and mean training loss over steps "
        f"{args.warmup_steps + 1}–{args.steps} (per-step wall time; model loading and set-up excluded on every side).",
        "",
        "| precision | runner | steps timed | s/step | real tokens/s | padded tokens/s | padded per real | "
        "mean loss | real tokens/s vs Trainer |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for precision in args.precisions:
        base = results[(precision, "HF Trainer")]["real"]
        for name, _ in SIDES.values():
            r = results[(precision, name)]
            lines.append(f"| {precision} | {name} | {r['steps']} | {r['seconds'] / r['steps']:.2f} | "
                         f"{r['real']:,.0f} | {r['padded']:,.0f} | {r['padded'] / r['real']:.2f} | {r['loss']:.4f} | "
                         f"{r['real'] / base:.2f}x |")
    lines.append("")
    for precision in args.precisions:
        grouped, packed = results[(precision, SIDES["molbridge"][0])], results[(precision, SIDES["packed"][0])]
        lines.append(f"- {precision}: packed is {packed['real'] / grouped['real']:.2f}x the real tokens/s of "
                     f"length-grouped batches; mean loss {packed['loss']:.4f} vs {grouped['loss']:.4f} "
                     f"({abs(packed['loss'] - grouped['loss']) / grouped['loss']:.1e} relative difference).")
    return "\n".join(lines) + "\n\n"


if __name__ == "__main__":
    main()

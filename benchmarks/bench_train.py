"""Training throughput: `molbridge train` vs a plain Hugging Face `Trainer` with the same settings; BENCHMARKS.md.

    python benchmarks/bench_train.py [--records 200] [--steps 14] [--warmup-steps 2]

Both sides fine-tune SmolLM2-135M-Instruct with the same LoRA adapters (r 16, alpha 32, dropout 0.05,
every linear layer), AdamW at 2e-4, a cosine schedule, batch 8, no accumulation, on the same
examples: ChEBI-20 validation records as SFT pairs in both directions (molecule → caption, caption
→ molecule), max length 256, loss on the answer only, length-grouped batches. The Trainer gets
the same tokenised examples (prompt labels -100) through `DataCollatorForSeq2Seq` and
`train_sampling_strategy="group_by_length"`. Each runs `--steps` optimizer steps; throughput is measured over the steps
after the first `--warmup-steps` (per-step wall time), for fp32 and for bf16 autocast, in one run
of this script. Real tokens (attention mask) and padded slots are counted separately on both sides.
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
SETTINGS = {"batch_size": 8, "learning_rate": 2e-4, "max_length": 256, "warmup_ratio": 0.0, "max_grad_norm": 1.0,
            "lora": {"r": 16, "alpha": 32, "dropout": 0.05}}


def molbridge_run(train_file: Path, steps: int, precision: str, out: Path) -> list[dict]:
    config = TrainConfig(task="sft", data={"train": str(train_file), "eval_examples": 0}, max_steps=steps,
                         precision=precision, eval_every=0, save_every=steps, tensorboard=False, out=str(out),
                         **SETTINGS)
    train(config)
    rows = read_log(out / "log.csv")
    previous = 0.0
    steps_out = []
    for row in rows:
        elapsed = float(row["elapsed_s"])
        real_s = float(row["real_tokens_per_s"])
        seconds = elapsed - previous
        steps_out.append({"seconds": seconds, "real": real_s * seconds,
                          "padded": float(row["padded_tokens_per_s"]) * seconds})
        previous = elapsed
    return steps_out


class _Timer(transformers.TrainerCallback):
    def __init__(self) -> None:
        self.starts, self.seconds = 0.0, list[float]()

    def on_step_begin(self, args, state, control, **kwargs):
        self.starts = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self.starts)


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
        train_sampling_strategy="group_by_length", logging_steps=steps, save_strategy="no", report_to=[], use_cpu=True,
        bf16=precision == "bf16", dataloader_num_workers=0, disable_tqdm=True, seed=0, remove_unused_columns=False)
    timer = _Timer()
    trainer = transformers.Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate,
                                   callbacks=[timer])
    trainer.train()
    # the dataloader may fetch one batch ahead; the first `steps` batches are the ones trained on
    return [{"seconds": s, "real": r, "padded": p} for s, (r, p) in zip(timer.seconds, counted, strict=False)]


def summarise(rows: list[dict], skip: int) -> dict:
    kept = rows[skip:]
    seconds = sum(r["seconds"] for r in kept)
    return {"steps": len(kept), "seconds": seconds, "real": sum(r["real"] for r in kept) / seconds,
            "padded": sum(r["padded"] for r in kept) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--steps", type=int, default=14)
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--target", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--one", nargs=3, metavar=("PRECISION", "SIDE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # one measurement in this process: Accelerate's precision is fixed once per process
        precision, side, work = args.one
        run = molbridge_run if side == "molbridge" else trainer_run
        rows = run(Path(work) / "train.txt", args.steps, precision, Path(work) / f"{side}-{precision}")
        print("RESULT " + json.dumps(summarise(rows, args.warmup_steps)))
        return
    work = Path(tempfile.mkdtemp(prefix="molbridge-bench-train-"))
    records = fixed_subset(records_from_chebi20(SHARED / "chebi20" / "validation.txt"), args.records, seed=0)
    lines = (SHARED / "chebi20" / "validation.txt").read_text().splitlines()
    wanted = {r.meta.source_id for r in records}
    (work / "train.txt").write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.split("\t", 1)[0] in wanted])
                                    + "\n")
    results = {}
    try:
        for precision in ("fp32", "bf16"):
            for side, name in (("molbridge", "molbridge train"), ("trainer", "HF Trainer")):
                done = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--warmup-steps",
                                       str(args.warmup_steps), "--one", precision, side, str(work)],
                                      capture_output=True, text=True, check=True)
                line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
                results[(precision, name)] = json.loads(line[len("RESULT "):])
                print(precision, name, results[(precision, name)], file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_section("bench_train", render(args, results), args.target)
    print(f"wrote {args.target}", file=sys.stderr)


def render(args, results: dict) -> str:
    lines = [
        "## Training throughput (`benchmarks/bench_train.py`)", "",
        f"Run {date.today()} with `{COMMAND} --records {args.records} --steps {args.steps} --warmup-steps "
        f"{args.warmup_steps}` on {os.cpu_count()} cores, Python {platform.python_version()}, torch "
        f"{torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}. Load average at "
        f"the start: {os.getloadavg()[0]:.1f}.",
        f"SmolLM2-135M-Instruct, LoRA r 16 on every linear layer, batch 8, max length 256, answer-only loss, "
        f"length-grouped batches, {args.records} ChEBI-20 validation records in both directions. Throughput over "
        f"steps {args.warmup_steps + 1}–{args.steps} (per-step wall time; model loading and set-up excluded on both "
        "sides).", "",
        "| precision | runner | steps timed | s/step | real tokens/s | padded tokens/s | real tokens/s vs Trainer |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for precision in ("fp32", "bf16"):
        base = results[(precision, "HF Trainer")]["real"]
        for side in ("molbridge train", "HF Trainer"):
            r = results[(precision, side)]
            lines.append(f"| {precision} | {side} | {r['steps']} | {r['seconds'] / r['steps']:.2f} | "
                         f"{r['real']:,.0f} | {r['padded']:,.0f} | {r['real'] / base:.2f}x |")
    return "\n".join(lines) + "\n\n"


if __name__ == "__main__":
    main()

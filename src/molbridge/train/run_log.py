"""What a training run reports while it runs: a CSV of every logged step, TensorBoard scalars, a progress bar.

The CSV is the record (`report.html` plots it); on resume, rows after the checkpoint's step are
dropped first, so the log of a resumed run reads like the log of an uninterrupted one.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

log = logging.getLogger(__name__)

COLUMNS = ("step", "epoch", "loss", "lr", "grad_norm", "real_tokens", "padded_tokens", "real_tokens_per_s",
           "padded_tokens_per_s", "elapsed_s", "eval_loss")


class RunLog:
    def __init__(self, out: Path, resumed_step: int, total: int, tensorboard: bool, show_progress: bool) -> None:
        self.path = out / "log.csv"
        rows = read_log(self.path)
        kept = [r for r in rows if int(r["step"]) <= resumed_step]
        with self.path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            writer.writeheader()
            writer.writerows(kept)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=resumed_step + 1)
            except ImportError:  # tensorboard is a declared dependency; a stripped install only loses the scalars
                log.warning("tensorboard is not installed; logging to log.csv only")
        self.bar = None
        if show_progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=resumed_step, desc="train", unit="step", dynamic_ncols=True)

    def step(self, row: dict) -> None:
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, COLUMNS).writerow({k: row.get(k, "") for k in COLUMNS})
        if self.writer is not None:
            for key, value in row.items():
                if key != "step" and value not in ("", None):
                    self.writer.add_scalar(f"train/{key}", float(value), int(row["step"]))
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{row['loss']:.3f}", tok_s=f"{row['real_tokens_per_s']:.0f}")

    def retotal(self, total: int) -> None:
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.bar is not None:
            self.bar.close()


def read_log(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))

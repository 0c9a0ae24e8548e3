"""What a training run records while it runs: a CSV of every logged step and TensorBoard scalars.

The CSV is the record (`report.html` plots it); on resume, rows after the checkpoint's step are
dropped first, so the log of a resumed run reads like the log of an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from molbridge.atomic import write_text

log = logging.getLogger(__name__)

COLUMNS = ("step", "epoch", "loss", "lr", "grad_norm", "real_tokens", "padded_tokens", "real_tokens_per_s",
           "padded_tokens_per_s", "elapsed_s", "eval_loss")


class RunLog:
    def __init__(self, out: Path, resumed_step: int, tensorboard: bool) -> None:
        self.path = out / "log.csv"
        kept = [r for r in read_log(self.path) if int(r["step"]) <= resumed_step]
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, COLUMNS)
        writer.writeheader()
        writer.writerows(kept)
        write_text(self.path, buffer.getvalue())
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=resumed_step + 1)
            except ImportError:  # tensorboard is a declared dependency; a stripped install only loses the scalars
                log.warning("tensorboard is not installed; logging to log.csv only")

    def step(self, row: dict) -> None:
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, COLUMNS).writerow({k: row.get(k, "") for k in COLUMNS})
        if self.writer is not None:
            for key, value in row.items():
                if key != "step" and value not in ("", None):
                    self.writer.add_scalar(f"train/{key}", float(value), int(row["step"]))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_log(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))

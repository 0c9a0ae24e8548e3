"""OSRA (Debian `osra`), the rule-based image → SMILES baseline of ChEBI-20-MM's image2smi cells.

One call per image: `osra -f can FILE`, the first structure it prints (its canonical SMILES), "" when
it recognises none (scored as an invalid answer, never dropped). A file OSRA cannot read or a run over
the time limit raises `OsraError` naming the image; a missing program raises MissingResourceError.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from molbridge.errors import MissingResourceError, MolbridgeError

TIMEOUT_S = 60.0


class OsraError(MolbridgeError, RuntimeError):
    """OSRA failed on one image (unreadable file, crash, time limit)."""

    def __init__(self, image: str, reason: str) -> None:
        self.image, self.reason = image, reason
        super().__init__(f"{image}: {reason}")


def osra_smiles(png: bytes, name: str = "image", *, timeout: float = TIMEOUT_S) -> str:
    """The first structure OSRA reads in a PNG, as SMILES; "" when it finds none."""
    program = shutil.which("osra")
    if program is None:
        raise MissingResourceError("OSRA is not installed: `apt-get install osra` (Debian) for the image → SMILES "
                                   "baseline")
    with tempfile.TemporaryDirectory(prefix="molbridge-osra-") as work:
        path = Path(work) / "image.png"
        path.write_bytes(png)
        try:
            done = subprocess.run([program, "-f", "can", str(path)], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise OsraError(name, f"OSRA ran over {timeout:.0f} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise OsraError(name, f"OSRA failed: {last}")
    found = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return found[0].split()[0] if found else ""


def osra_answers(images: Sequence[tuple[str, bytes]]) -> tuple[list[str], list[str]]:
    """(SMILES per image, "" where OSRA read nothing or failed; a problem line per failure) — a batch never stops."""
    answers, problems = [], []
    for name, png in images:
        try:
            answers.append(osra_smiles(png, name))
        except OsraError as err:
            answers.append("")
            problems.append(str(err))
    return answers, problems

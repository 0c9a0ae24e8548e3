"""Text tokenization for BLEU and METEOR, as the reference scripts do it.

MolT5 calls `BertTokenizerFast.tokenize(text, truncation=True, max_length=512,
padding='max_length')` per pair and drops '[PAD]', '[CLS]' and '[SEP]'. That is: no special
tokens added, truncate to the first 512 tokens, then remove those three strings. We do the same
in one batched call of the Rust tokenizer, which gives the same tokens without the padding work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from molbridge.errors import MissingResourceError

_DROPPED = frozenset({"[PAD]", "[CLS]", "[SEP]"})

Tokenize = Callable[[Sequence[str]], list[list[str]]]


@lru_cache(maxsize=4)
def _load_hf_tokenizer(source: str):  # -> transformers.PreTrainedTokenizerFast
    """Load a fast tokenizer from a directory or hub id, with a clear error when it is absent."""
    from transformers import AutoTokenizer

    path = Path(source).expanduser()
    looks_local = source.startswith((".", "/", "~")) or path.exists()
    if looks_local and not path.is_dir():
        raise MissingResourceError(
            f"text tokenizer directory {source!r} does not exist; pass --text-tokenizer DIR "
            "(e.g. a SciBERT uncased vocab dir) or set MOLBRIDGE_TEXT_TOKENIZER"
        )
    try:
        if looks_local and (path / "vocab.txt").is_file() and not (path / "tokenizer.json").exists():
            # A bare WordPiece vocabulary (SciBERT ships one): load it as MolT5 does.
            from transformers import BertTokenizerFast

            return BertTokenizerFast.from_pretrained(str(path))
        return AutoTokenizer.from_pretrained(str(path) if looks_local else source, use_fast=True)
    except (OSError, ValueError) as exc:
        raise MissingResourceError(
            f"cannot load text tokenizer {source!r}: {exc}. Offline, pass a local directory "
            "with --text-tokenizer or MOLBRIDGE_TEXT_TOKENIZER."
        ) from exc


def whitespace_tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Split on whitespace (Mol-Instructions' biotext convention)."""
    return [t.split() for t in texts]


def make_tokenizer(source: str, truncation: int) -> Tokenize:
    """A batch tokenizer for `source` ('whitespace' or a HF tokenizer dir / hub id)."""
    if source == "whitespace":
        return lambda texts: [toks[:truncation] for toks in whitespace_tokenize(texts)]
    if source == "model":
        raise MissingResourceError(
            "convention uses the model's own tokenizer: pass --text-tokenizer with the LLM's "
            "tokenizer directory or hub id"
        )
    backend = _load_hf_tokenizer(source).backend_tokenizer

    def tokenize(texts: Sequence[str]) -> list[list[str]]:
        encodings = backend.encode_batch(list(texts), add_special_tokens=False)
        return [[t for t in enc.tokens[:truncation] if t not in _DROPPED] for enc in encodings]

    return tokenize

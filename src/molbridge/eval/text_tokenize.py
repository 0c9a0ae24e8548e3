"""Text tokenization for BLEU and METEOR, as the reference scripts do it.

MolT5 calls `BertTokenizerFast.tokenize(text, truncation=True, max_length=512,
padding='max_length')` per pair and drops '[PAD]', '[CLS]' and '[SEP]'. That is: no special
tokens added, truncate to the first 512 tokens, then remove those three strings. We do the same
in one batched call of the Rust tokenizer, which gives the same tokens without the padding work.
Bare WordPiece vocabularies (SciBERT) are built straight into the Rust tokenizer (see
`_wordpiece_from_vocab`). (transformers 5's `tokenize()` silently ignores `truncation`; we keep MolT5's 512-token cut,
which the transformers 4 of its time applied. No ChEBI-20 caption comes near 512 tokens.)
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from molbridge.errors import MissingResourceError

_DROPPED = frozenset({"[PAD]", "[CLS]", "[SEP]"})

Tokenize = Callable[[Sequence[str]], list[list[str]]]


_BERT_SPECIALS = ("[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]")


def _wordpiece_from_vocab(path: Path):  # -> tokenizers.Tokenizer
    """The Rust WordPiece tokenizer that `BertTokenizerFast.from_pretrained(path)` builds.

    transformers converts a bare `vocab.txt` through its Python slow-tokenizer path (~1-2 s);
    building the same pipeline directly (BertNormalizer, BertPreTokenizer, WordPiece with '##'
    and 100-character words, the special tokens registered so '[SEP]' in text stays one token)
    takes milliseconds. Settings come from the directory's JSON files with transformers'
    defaults; tests check token identity with transformers on every ChEBI-20 caption.
    """
    import json

    from tokenizers.implementations import BertWordPieceTokenizer

    def read(name: str) -> dict:
        f = path / name
        return json.loads(f.read_text()) if f.is_file() else {}

    config, specials = read("tokenizer_config.json"), read("special_tokens_map.json")
    tokenizer = BertWordPieceTokenizer(
        str(path / "vocab.txt"),
        lowercase=config.get("do_lower_case", True),
        strip_accents=config.get("strip_accents"),
        handle_chinese_chars=config.get("tokenize_chinese_chars", True),
    )
    names = [v if isinstance(v, str) else v.get("content") for v in specials.values()] or list(_BERT_SPECIALS)
    tokenizer.add_special_tokens([n for n in names if n])  # as transformers does, even if not in vocab
    return tokenizer._tokenizer


@lru_cache(maxsize=4)
def _load_hf_tokenizer(source: str):  # -> tokenizers.Tokenizer (the Rust backend)
    """Load a fast tokenizer from a directory or hub id, with a clear error when it is absent.

    A hub id is taken from the local Hugging Face cache when it is there; otherwise it is
    downloaded, unless the hub's host does not even resolve (offline machines fail at once).
    """
    path = Path(source).expanduser()
    if source.startswith((".", "/", "~")) or path.exists():
        if not path.is_dir():
            raise MissingResourceError(
                f"text tokenizer directory {source!r} does not exist; pass --text-tokenizer DIR "
                "(e.g. a SciBERT uncased vocab dir) or set MOLBRIDGE_TEXT_TOKENIZER"
            )
        if (path / "vocab.txt").is_file() and not (path / "tokenizer.json").exists():
            return _guarded(source, lambda: _wordpiece_from_vocab(path))
        return _guarded(source, lambda: _auto_tokenizer(str(path)))
    try:
        return _guarded(source, lambda: _auto_tokenizer(source, local_files_only=True))
    except MissingResourceError:
        if not _hub_resolvable():
            raise MissingResourceError(
                f"text tokenizer {source!r} is not in the Hugging Face cache and the hub cannot be reached; "
                "pass a local tokenizer directory with --text-tokenizer or MOLBRIDGE_TEXT_TOKENIZER"
            ) from None
    return _guarded(source, lambda: _auto_tokenizer(source))


def _auto_tokenizer(source: str, **kwargs):  # -> tokenizers.Tokenizer
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source, use_fast=True, **kwargs).backend_tokenizer


def _guarded(source: str, load: Callable[[], object]):
    """Run a loader, turning its I/O and format errors into one clear MissingResourceError."""
    try:
        return load()
    except (OSError, ValueError) as exc:
        raise MissingResourceError(
            f"cannot load text tokenizer {source!r}: {exc}. Offline, pass a local directory "
            "with --text-tokenizer or MOLBRIDGE_TEXT_TOKENIZER."
        ) from exc


def _hub_resolvable() -> bool:
    """Cheap check that the hub's host resolves, so offline machines fail at once instead of
    after huggingface_hub's minute of retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


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
    backend = _load_hf_tokenizer(source)

    def tokenize(texts: Sequence[str]) -> list[list[str]]:
        encodings = backend.encode_batch(list(texts), add_special_tokens=False)
        return [[t for t in enc.tokens[:truncation] if t not in _DROPPED] for enc in encodings]

    return tokenize

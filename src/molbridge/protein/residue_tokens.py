"""A protein as an ESM-2 encoder reads it: `<cls>` residues `<eos>` as ESM's token ids, with one Cα position
per token (the specials, and residues without a resolved structure, at the origin and marked absent).

ESM-2's alphabet is fixed (33 tokens, the same for every ESM-2 size), so tokens are computed here
from the record's sequence instead of loading a tokenizer; a model whose vocabulary differs is
refused where it is loaded. A residue whose coordinates are all zero is one the structure did not
resolve (SEPIT's convention): it gets no structure bias. A record ESM cannot read raises
`ProteinInputError` naming it: no sequence, more residues than `max_residues`, NaN coordinates
(letters outside the alphabet and coordinates for another chain's length the record schema refuses).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from molbridge.errors import EncoderInputError
from molbridge.records import Record

# ESM-2's alphabet in its token order (fair-esm `Alphabet.from_architecture("ESM-1b")`, transformers' EsmTokenizer)
ESM_TOKENS = ("<cls>", "<pad>", "<eos>", "<unk>", "L", "A", "G", "V", "S", "E", "R", "T", "I", "D", "P", "K", "Q", "N",
              "F", "Y", "M", "H", "W", "C", "X", "B", "U", "Z", "O", ".", "-", "<null_1>", "<mask>")
CLS, PAD, EOS, MASK = 0, 1, 2, len(ESM_TOKENS) - 1
_IDS = {token: index for index, token in enumerate(ESM_TOKENS) if len(token) == 1 and token.isalpha()}
MAX_RESIDUES = 1022  # ESM-2's 1024 positions less <cls> and <eos>


class ProteinInputError(EncoderInputError):
    """A protein an ESM encoder cannot read; names the record and the reason."""


@dataclass(frozen=True)
class ResidueTokens:
    tokens: np.ndarray  # (n + 2,) int64: <cls> residues <eos>
    coords: np.ndarray  # (n + 2, 3) float32, Å
    present: np.ndarray  # (n + 2,) bool: a residue with a resolved position (never a special token)


def residue_tokens(record: Record, max_residues: int = MAX_RESIDUES) -> ResidueTokens:
    """The record's protein as ESM tokens and per-token Cα positions (zeros, absent, without a structure)."""
    sequence = record.modalities.protein_sequence
    if not sequence:
        raise ProteinInputError(record.id, "no protein sequence")
    if len(sequence) > max_residues:
        raise ProteinInputError(record.id, f"{len(sequence)} residues, over the encoder's {max_residues}")
    tokens = np.array([CLS, *(_IDS[letter] for letter in sequence), EOS], dtype=np.int64)
    coords = np.zeros((len(tokens), 3), dtype=np.float32)
    present = np.zeros(len(tokens), dtype=bool)
    if record.modalities.protein_coords is not None:
        given = np.asarray(record.modalities.protein_coords, dtype=np.float32)
        if not np.isfinite(given).all():
            raise ProteinInputError(record.id, "NaN or infinite residue coordinates")
        coords[1:-1] = given
        present[1:-1] = np.abs(given).sum(axis=1) > 0
    return ResidueTokens(tokens, coords, present)

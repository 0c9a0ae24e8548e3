"""Scoring conventions: every paper's way of computing a number, as explicit named settings.

Papers on molecule↔text translation disagree on tokenizer, BLEU aggregation, ROUGE stemming,
scale and what happens to invalid outputs (../shared/FORMATS.md §1). Instead of one fork per
paper, a `Convention` names each choice; `CONVENTIONS` holds the presets. The default is
MolT5's reference evaluation, which every ChEBI-20 table is compared against.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from molbridge.errors import ConventionError

TOKENIZER_ENV = "MOLBRIDGE_TEXT_TOKENIZER"
SCIBERT_HUB_ID = "allenai/scibert_scivocab_uncased"


class Convention(BaseModel):
    """One declared scoring convention; recorded with every result it produces."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    text_tokenizer: str = Field(
        SCIBERT_HUB_ID,
        description="'whitespace', or a Hugging Face tokenizer directory / hub id "
        "(MolT5: SciBERT uncased; ICMA: a MolT5 T5 tokenizer; 3D-MoLM: the LLM's own).",
    )
    text_truncation: int = Field(512, gt=0, description="max tokens per text before scoring")
    strip_cls_prefix: bool = Field(True, description="drop a leading '[CLS] ' from outputs (MolT5)")
    bleu_mode: Literal["corpus", "sentence_mean"] = "corpus"
    rouge_stemmer: bool = False
    scale: Literal[1, 100] = 1
    headline_fingerprints: Literal["valid_only", "all"] = Field(
        "valid_only",
        description="which fingerprint similarity is the headline value; both are always reported",
    )
    empty_smiles_valid: bool = Field(
        False,
        description="MolT5's scripts parse '' to an empty RDKit molecule and count it as valid; "
        "True reproduces their numbers (the count of empty outputs is always reported)",
    )
    reference_strings: Literal["unescaped", "raw"] = Field(
        "unescaped",
        description="references joined from a ChEBI-20 table (-r): the real SMILES ('unescaped', as MolT5's "
        "prediction files hold them), or the table's text with doubled backslashes ('raw'), which the "
        "MolReGPT/ICMA scripts compare against for BLEU and Levenshtein",
    )
    bertscore_model: str | None = Field(
        None,
        description="a BERT-family model directory: BERTScore precision/recall/F1 beside the other text metrics "
        "(SEPIT: PubMedBERT's last layer, no idf, no rescaling); None: not computed",
    )
    bertscore_truncation: int = Field(500, gt=0, description="BERTScore model tokens each text is cut to first "
                                      "(SEPIT: 500)")
    morgan_radius: int = Field(2, ge=0)
    bootstrap_resamples: int = Field(1000, ge=0)
    seed: int = 0

    def with_tokenizer(self, tokenizer: str | None) -> Convention:
        """This convention with the text tokenizer replaced (CLI flag or environment)."""
        return self if not tokenizer else self.model_copy(update={"text_tokenizer": tokenizer})


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        # MolT5 evaluation/ scripts (the reference; REFERENCE.md §A is computed with them).
        Convention(name="molt5", empty_smiles_valid=True),
        # The same, but an empty output is an invalid molecule (DESIGN.md §5 trap).
        Convention(name="molt5-strict", empty_smiles_valid=False),
        # ICMA / MolReGPT naive_test.py: MolT5's T5 SentencePiece tokenizer, truncation 256, references read
        # raw from test.txt (doubled backslashes).
        Convention(name="icma", text_tokenizer="laituan245/molt5-base-smiles2caption",
                   text_truncation=256, empty_smiles_valid=True, reference_strings="raw"),
        # 3D-MoLM / MolCA caption_evaluate: the LLM's own tokenizer, scores ×100.
        Convention(name="3dmolm", text_tokenizer="model", scale=100, empty_smiles_valid=True),
        # SEPIT evaluate_task.py: PubMedBERT tokenizer, per-sample BLEU, stemmed ROUGE, ×100.
        Convention(name="sepit",
                   text_tokenizer="microsoft/BiomedNLP-PubMedBERT-base-uncased-abstract-fulltext",
                   bleu_mode="sentence_mean", rouge_stemmer=True, scale=100),
        # Plain whitespace tokens: needs no tokenizer files (quick checks, tests).
        Convention(name="whitespace", text_tokenizer="whitespace"),
    )
}


def get_convention(name: str = "molt5", *, text_tokenizer: str | None = None,
                   bertscore_model: str | None = None) -> Convention:
    """A named convention, with the tokenizer from the argument, else `$MOLBRIDGE_TEXT_TOKENIZER`, and
    BERTScore computed with `bertscore_model` when one is given.

    The environment variable only overrides conventions whose tokenizer is SciBERT (the
    default), so `--convention icma` keeps its T5 tokenizer unless the flag says otherwise.
    """
    try:
        conv = CONVENTIONS[name]
    except KeyError:
        known = ", ".join(sorted(CONVENTIONS))
        raise ConventionError(f"unknown convention {name!r}; known: {known}") from None
    if bertscore_model:
        conv = conv.model_copy(update={"bertscore_model": bertscore_model})
    if text_tokenizer:
        return conv.with_tokenizer(text_tokenizer)
    env = os.environ.get(TOKENIZER_ENV)
    if env and conv.text_tokenizer == SCIBERT_HUB_ID:
        return conv.with_tokenizer(env)
    return conv

"""Molecule → text scoring behaviour: conventions, missing outputs, bad input."""

from __future__ import annotations

import pytest
from nltk.translate.bleu_score import corpus_bleu, sentence_bleu

from molbridge.errors import MissingResourceError
from molbridge.eval.conventions import get_convention
from molbridge.eval.text_metrics import score_mol2text

REFS = ["The molecule is an acid .", "It is a metabolite of aspirin .", "The molecule is a steroid ."]
PREDS = ["The molecule is a base .", "It is a metabolite .", "[CLS] The molecule is a steroid ."]
WS = get_convention("whitespace")


def test_values_follow_nltk_on_whitespace_tokens() -> None:
    report = score_mol2text(REFS, PREDS, WS, workers=1)
    refs = [[r.split()] for r in REFS]
    hyps = [p.removeprefix("[CLS] ").split() for p in PREDS]
    assert report.metrics["bleu4"].value == corpus_bleu(refs, hyps)
    assert report.metrics["bleu2"].value == corpus_bleu(refs, hyps, weights=(0.5, 0.5))
    assert report.n == 3
    m = report.metrics["bleu4"]
    assert m.ci_low <= m.value <= m.ci_high


def test_scale_and_sentence_mode() -> None:
    sepit_like = WS.model_copy(update={"bleu_mode": "sentence_mean", "scale": 100, "bootstrap_resamples": 0})
    report = score_mol2text(REFS, PREDS, sepit_like, workers=1)
    want = sum(sentence_bleu([r.split()], p.removeprefix("[CLS] ").split()) for r, p in zip(REFS, PREDS)) / 3
    assert report.metrics["bleu4"].value == pytest.approx(100 * want, rel=1e-12)
    assert report.metrics["bleu4"].ci_low is None


def test_missing_outputs_score_zero_and_are_counted() -> None:
    report = score_mol2text(REFS, [PREDS[0], None, ""], WS, workers=1)
    assert report.counts == {"missing_outputs": 1, "empty_outputs": 2}
    full = score_mol2text(REFS[:1], PREDS[:1], WS, workers=1)
    assert report.metrics["rouge1"].value == pytest.approx(full.metrics["rouge1"].value / 3)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="2 references but 1 predictions"):
        score_mol2text(REFS[:2], PREDS[:1], WS)
    with pytest.raises(ValueError, match="nothing to score"):
        score_mol2text([], [], WS)
    with pytest.raises(MissingResourceError, match="does not exist"):
        score_mol2text(REFS, PREDS, WS.with_tokenizer("/no/such/tokenizer"))


def test_scibert_tokens_equal_transformers_on_every_caption(scibert_dir: str, shared_data) -> None:
    """The directly built WordPiece tokenizer is token-identical to BertTokenizerFast."""
    from transformers import BertTokenizerFast

    from molbridge.eval.predictions import read_predictions
    from molbridge.eval.text_tokenize import make_tokenizer

    pairs = read_predictions(shared_data / "molt5-predictions" / "molt5-small-smiles2caption.txt", "mol2text")
    texts = pairs.references + pairs.predictions + ["Ünïcödé ﬁ 中文 [SEP] [CLS] [PAD] [MASK] x\u0000y α-D-glc ≥ 5 µM"]
    backend = BertTokenizerFast.from_pretrained(scibert_dir).backend_tokenizer
    want = [[t for t in e.tokens[:512] if t not in ("[PAD]", "[CLS]", "[SEP]")]
            for e in backend.encode_batch(texts, add_special_tokens=False)]
    assert make_tokenizer(scibert_dir, 512)(texts) == want


def test_scibert_tokens_strip_special_tokens(scibert_dir: str) -> None:
    from transformers import BertTokenizerFast

    from molbridge.eval.text_tokenize import make_tokenizer

    reference = BertTokenizerFast.from_pretrained(scibert_dir)
    tokenize = make_tokenizer(scibert_dir, 512)
    text = "The [SEP] Acetyl-CoA [PAD] is a (2R)-2-hydroxy acid."
    # MolT5's recipe: pad to 512, then drop the special tokens
    want = reference.tokenize(text, truncation=True, max_length=512, padding="max_length")
    assert tokenize([text])[0] == [t for t in want if t not in ("[PAD]", "[CLS]", "[SEP]")]
    # transformers 4 (MolT5's era) truncated here; transformers 5's tokenize() ignores it: we keep 512
    long = tokenize(["word " * 600])[0]
    assert long == ["word"] * 512

"""Memoised METEOR is nltk's METEOR, in one process and across forked workers."""

from __future__ import annotations

from nltk.translate.meteor_score import meteor_score

from molbridge.eval.meteor import meteor_values, warm_up
from molbridge.eval.parallel import process_pool, split
from molbridge.eval.wordnet import load_wordnet

REFS = [["the", "molecule", "is", "an", "acid", "."], ["it", "has", "a", "role", "as", "a", "metabolite"]] * 150
HYPS = [["the", "compound", "is", "an", "acids"], ["it", "plays", "a", "part", "as", "metabolites"]] * 150


def test_meteor_equals_nltk() -> None:
    wn = load_wordnet()
    want = [meteor_score([r], h, wordnet=wn) for r, h in zip(REFS[:2], HYPS[:2])]
    assert list(meteor_values(REFS[:2], HYPS[:2])) == want
    assert 0 < want[0] < 1  # synonym and stem stages matched something


def _chunk(pair):
    refs, hyps = pair
    return meteor_values(refs, hyps)


def test_workers_give_the_serial_values() -> None:
    """Workers forked after WordNet was loaded give the serial values."""
    warm_up()  # loaded in the parent: forked children must not share its open file offsets
    serial = meteor_values(REFS, HYPS)
    slices = split(len(REFS), workers=2, min_chunk=50)
    with process_pool(2) as pool:
        parts = pool.map(_chunk, [(REFS[s], HYPS[s]) for s in slices])
    assert len(parts) > 1
    assert [v for p in parts for v in p] == list(serial)

"""TextEncoder on the packaged all-MiniLM-L6-v2: shape, norms, semantics, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from molbridge.errors import MissingResourceError
from molbridge.retrieval.dense_index import DenseIndex
from molbridge.retrieval.text_encoder import (
    TextEncoder,
    TextInputError,
    packaged_model_dir,
)

ACIDS = ["The molecule is a monocarboxylic acid, hexanoic acid, a medium-chain saturated fatty acid.",
         "The molecule is a dicarboxylic acid, succinic acid, with two carboxy groups."]
KINASE = "A serine/threonine protein kinase that phosphorylates substrate proteins in cell signalling."
CAPTIONS = {
    "glc": "The molecule is an amino sugar, N-acetyl-D-glucosamine, found in chitin and bacterial cell walls.",
    "eth": "The molecule is a primary alcohol, ethanol, used as a solvent and found in fermented drinks.",
    "ben": "The molecule is an aromatic hydrocarbon, benzene, a carcinogen and an industrial solvent.",
    "atp": "The molecule is a purine ribonucleoside triphosphate, adenosine 5'-triphosphate, an energy carrier.",
    "chl": "The molecule is a sterol, cholesterol, a component of animal cell membranes.",
}


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder.load()


def test_vectors_are_384_float32_unit_rows(encoder):
    assert encoder.dim == 384 and encoder.max_seq_length == 256
    assert encoder.source == packaged_model_dir()
    vectors = encoder.encode([*ACIDS, KINASE])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert encoder.encode([]).shape == (0, 384)


def test_related_captions_score_higher_than_unrelated(encoder):
    acid_a, acid_b, kinase = encoder.encode([*ACIDS, KINASE])
    assert acid_a @ acid_b > 0.5
    assert acid_a @ acid_b > acid_a @ kinase + 0.3
    assert acid_a @ acid_b > acid_b @ kinase + 0.3


def test_paraphrases_retrieve_their_caption_through_a_dense_index(encoder):
    index = DenseIndex.build(list(CAPTIONS), encoder.encode(list(CAPTIONS.values())))
    queries = ["ethyl alcohol, the solvent made when sugar ferments",
               "a steroid found in the membranes of animal cells",
               "the nucleotide cells use to carry chemical energy"]
    scores, top = index.search(encoder.encode(queries), 2)
    assert [index.ids[i] for i in top[:, 0]] == ["eth", "chl", "atp"]
    assert np.all(scores[:, 0] > scores[:, 1])


def test_encoding_is_deterministic_and_order_independent(encoder):
    texts = [*ACIDS, KINASE, *CAPTIONS.values()]
    first = encoder.encode(texts, batch_size=3)
    assert np.array_equal(first, encoder.encode(texts, batch_size=3))
    assert np.array_equal(first[::-1], encoder.encode(texts[::-1], batch_size=3))  # same batches, longest first
    np.testing.assert_allclose(first[:3], encoder.encode(texts[:3], batch_size=1), atol=1e-5)  # other padding


def test_progress_reports_texts_done_per_batch(encoder):
    seen: list = []
    encoder.encode(list(CAPTIONS.values()), batch_size=2, progress=seen.append)
    assert [(e.stage, e.done, e.total) for e in seen] == [("encode", 2, 5), ("encode", 4, 5), ("encode", 5, 5)]


@pytest.mark.parametrize(("texts", "message"), [
    ("one caption", "sequence of strings, not one string"),
    (["fine", None], "position 1 is NoneType, not str"),
    (["fine", "also fine", ""], "position 2 is empty or blank"),
    ([" \n\t"], "position 0 is empty or blank"),
])
def test_bad_texts_raise_naming_the_position(encoder, texts, message):
    with pytest.raises(TextInputError, match=message):
        encoder.encode(texts)


def test_bad_batch_size_is_refused(encoder):
    with pytest.raises(TextInputError, match="batch_size must be a positive integer"):
        encoder.encode(ACIDS, batch_size=0)


def test_missing_or_unusable_model_directory(tmp_path):
    with pytest.raises(MissingResourceError, match="does not exist"):
        TextEncoder.load(tmp_path / "absent")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(MissingResourceError, match="cannot load a sentence-transformers model"):
        TextEncoder.load(tmp_path)


def test_an_explicit_model_directory_loads_the_same_model(encoder):
    again = TextEncoder.load(str(packaged_model_dir()))
    assert np.array_equal(again.encode(ACIDS), encoder.encode(ACIDS))

"""WordNet is prepared offline from Debian's files, idempotently, with a clear error otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from molbridge.errors import MissingResourceError
from molbridge.eval.wordnet import DEBIAN_WORDNET, lexnames_table, prepare_wordnet


def test_lexnames_table_is_the_45_line_wordnet_table() -> None:
    rows = [line.split("\t") for line in lexnames_table().splitlines()]
    assert len(rows) == 45
    assert rows[0] == ["00", "adj.all", "3"] and rows[3] == ["03", "noun.Tops", "1"]
    assert rows[44] == ["44", "adj.ppl", "3"]
    assert {r[2] for r in rows} == {"1", "2", "3", "4"}


def test_prepare_is_idempotent_and_loadable(tmp_path: Path) -> None:
    if not (DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("Debian wordnet-base not installed (make setup installs it)")
    root = prepare_wordnet(tmp_path)
    target = root / "corpora" / "wordnet"
    stamp = (target / "data.noun").stat().st_mtime_ns
    assert prepare_wordnet(tmp_path) == root
    assert (target / "data.noun").stat().st_mtime_ns == stamp  # not rebuilt
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    import nltk

    nltk.data.path.insert(0, str(root))
    try:
        wn = WordNetCorpusReader(str(target), None)
        assert wn.get_version() == "3.0"
        assert "acid" in {lemma.name() for s in wn.synsets("acid") for lemma in s.lemmas()}
    finally:
        nltk.data.path.remove(str(root))


def test_half_built_directory_is_rebuilt(tmp_path: Path) -> None:
    if not (DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("Debian wordnet-base not installed")
    target = tmp_path / "nltk_data" / "corpora" / "wordnet"
    target.mkdir(parents=True)
    (target / "data.noun").write_text("truncated")
    prepare_wordnet(tmp_path)
    assert (target / "data.noun").stat().st_size > 1_000_000


def test_missing_debian_package_is_named(tmp_path: Path) -> None:
    with pytest.raises(MissingResourceError, match="apt-get install wordnet-base wordnet-sense-index"):
        prepare_wordnet(tmp_path / "cache", source=tmp_path / "empty")


def test_fast_reader_equals_nltks_reader() -> None:
    """Our start-up shortcuts change nothing METEOR sees: same indexes, same synsets."""
    if not (DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("Debian wordnet-base not installed")
    import random
    import warnings

    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    from molbridge.eval.wordnet import load_wordnet

    ours = load_wordnet()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = WordNetCorpusReader(nltk.data.find("corpora/wordnet"), None)
    assert ours._lemma_pos_offset_map == plain._lemma_pos_offset_map
    assert ours._exception_map == plain._exception_map
    words = random.Random(0).sample(sorted(plain._lemma_pos_offset_map), 500) + ["acids", "geese", "hydroxylated"]

    def view(wn, word):
        return [(s.name(), [lemma.name() for lemma in s.lemmas()]) for s in wn.synsets(word)]

    assert all(view(ours, w) == view(plain, w) for w in words)


def test_corrupt_index_cache_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("Debian wordnet-base not installed")
    import nltk

    from molbridge.eval import wordnet as wn_module

    monkeypatch.setenv("MOLBRIDGE_CACHE", str(tmp_path))
    root = wn_module.prepare_wordnet()
    corpus = root / "corpora" / "wordnet"
    cache = corpus / wn_module._INDEX_CACHE.format(version=nltk.__version__)
    cache.write_bytes(b"not a pickle")
    fresh = wn_module.load_wordnet.__wrapped__()  # bypass the per-process lru_cache
    try:
        assert "acid" in {lemma.name() for s in fresh.synsets("acids") for lemma in s.lemmas()}
        assert cache.stat().st_size > 1_000_000  # rewritten from the parsed indexes
        again = wn_module.load_wordnet.__wrapped__()  # now restored from the cache
        assert again._lemma_pos_offset_map == fresh._lemma_pos_offset_map
    finally:
        nltk.data.path.remove(str(root))

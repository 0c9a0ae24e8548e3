"""WordNet is prepared offline from Debian's files, idempotently, with a clear error otherwise."""

from __future__ import annotations

import json
import os
import pickle
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
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

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


def nltks_reader():
    """nltk's own WordNet reader over the corpus `load_wordnet` prepared (on `nltk.data.path`)."""
    import warnings

    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WordNetCorpusReader(nltk.data.find("corpora/wordnet"), None)


def assert_same_reader(ours, plain) -> None:
    """Same indexes in nltk's types (a defaultdict, a set, one exception dict for ADJ and ADJ_SAT), same synsets."""
    import random
    from collections import defaultdict

    assert type(ours._lemma_pos_offset_map) is defaultdict and ours._lemma_pos_offset_map.default_factory is dict
    assert ours._lemma_pos_offset_map == plain._lemma_pos_offset_map
    assert type(ours.satellite_offsets) is set and ours.satellite_offsets == plain.satellite_offsets
    assert ours._exception_map == plain._exception_map and ours._exception_map["s"] is ours._exception_map["a"]
    words = [*random.Random(0).sample(sorted(plain._lemma_pos_offset_map), 500), "acids", "geese", "hydroxylated"]

    def view(wn, word):
        return [(s.name(), [lemma.name() for lemma in s.lemmas()]) for s in wn.synsets(word)]

    assert all(view(ours, w) == view(plain, w) for w in words)
    assert ours.morphy("geese") == plain.morphy("geese") == "goose"


def test_fast_reader_equals_nltks_reader() -> None:
    """Our start-up shortcuts change nothing METEOR sees: same indexes, same synsets."""
    if not (DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("Debian wordnet-base not installed")
    from molbridge.eval.wordnet import load_wordnet

    ours = load_wordnet()
    assert_same_reader(ours, nltks_reader())


class RunsOnUnpickle:
    """A pickle payload: unpickling it creates `marker`, as a planted cache file could run any code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_damaged_index_cache_is_ignored_and_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Garbage, a truncated file or JSON of the wrong shape is rebuilt from the corpus; a cached start equals nltk."""
    if not (DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("Debian wordnet-base not installed")
    import nltk

    from molbridge.eval import wordnet as wn_module

    monkeypatch.setenv("MOLBRIDGE_CACHE", str(tmp_path))
    root = wn_module.prepare_wordnet()
    cache = root / "corpora" / "wordnet" / wn_module._INDEX_CACHE.format(version=nltk.__version__)
    try:
        fresh = wn_module.load_wordnet.__wrapped__()  # bypass the per-process lru_cache; parses and writes the cache
        good = cache.read_bytes()
        damaged = [b"\x80\x04not json", good[: len(good) // 2],
                   json.dumps({"satellite_offsets": [], "_lemma_pos_offset_map": {"acid": [1]},
                               "_exception_map": {"a": {}}}).encode()]
        for content in damaged:
            cache.write_bytes(content)
            rebuilt = wn_module.load_wordnet.__wrapped__()
            assert "acid" in {lemma.name() for s in rebuilt.synsets("acids") for lemma in s.lemmas()}
            assert cache.read_bytes() == good  # rewritten from the parsed indexes
        cached = wn_module.load_wordnet.__wrapped__()  # restored from the cache
        assert_same_reader(cached, nltks_reader())
        assert cached._lemma_pos_offset_map == fresh._lemma_pos_offset_map
    finally:
        nltk.data.path.remove(str(root))


def test_old_pickle_cache_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("Debian wordnet-base not installed")
    import nltk

    from molbridge.eval import wordnet as wn_module

    monkeypatch.setenv("MOLBRIDGE_CACHE", str(tmp_path))
    root = wn_module.prepare_wordnet()
    old = root / "corpora" / "wordnet" / f".index-cache-nltk{nltk.__version__}.pickle"
    marker = tmp_path / "payload-ran"
    old.write_bytes(pickle.dumps(RunsOnUnpickle(marker)))
    try:
        assert wn_module.load_wordnet.__wrapped__().synsets("acid")
        assert not marker.exists() and not old.exists()  # never unpickled, and removed
        pickle.loads(pickle.dumps(RunsOnUnpickle(marker)))
        assert marker.is_dir()  # the payload was live: reading the old cache would have run it
    finally:
        nltk.data.path.remove(str(root))

"""An nltk-readable WordNet 3.0 built offline from Debian's `wordnet-base` files.

METEOR's synonym stage needs WordNet, and `nltk.download` needs the internet. Debian ships the
same WordNet 3.0 database under /usr/share/wordnet but without the `lexnames` table that nltk's
reader requires, so we copy the database into a cache directory and add the 45-line table that
this package carries (`data/wordnet_lexnames.tsv`). Preparation is idempotent: a marker file is
written last, and a half-written directory is rebuilt.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import warnings
from collections import defaultdict
from functools import lru_cache
from importlib import resources
from pathlib import Path

from molbridge.atomic import atomic_directory, write_text
from molbridge.cache import cache_dir
from molbridge.errors import MissingResourceError

log = logging.getLogger(__name__)

DEBIAN_WORDNET = Path("/usr/share/wordnet")
_REQUIRED = (
    "data.noun", "data.verb", "data.adj", "data.adv",
    "index.noun", "index.verb", "index.adj", "index.adv",
    "noun.exc", "verb.exc", "adj.exc", "adv.exc",
)
_OPTIONAL = ("index.sense", "cntlist.rev")
_MARKER = ".molbridge-complete"


_INDEX_CACHE = ".index-cache-nltk{version}.json"
_OLD_PICKLE_CACHES = ".index-cache-nltk*.pickle"  # earlier versions' caches: never read, removed


def _read_index_cache(path: str) -> dict | None:
    """The indexes a previous start parsed, in nltk's own types, or None (absent, stale or damaged: rebuilt)."""
    from nltk.corpus.reader.wordnet import ADJ, ADJ_SAT

    try:
        with open(path, encoding="utf-8") as handle:
            gc.disable()  # decoding ~150k lemma entries: the collector's passes would add half again
            try:
                data = json.load(handle)
            finally:
                gc.enable()
        lemmas, exceptions = data["_lemma_pos_offset_map"], data["_exception_map"]
        if not (all(isinstance(by_pos, dict) for by_pos in lemmas.values())
                and all(isinstance(forms, dict) for forms in exceptions.values())):
            return None
        exceptions[ADJ_SAT] = exceptions[ADJ]  # one dict under both keys, as nltk builds it
        return {"satellite_offsets": set(data["satellite_offsets"]),
                "_lemma_pos_offset_map": defaultdict(dict, lemmas), "_exception_map": exceptions}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _write_index_cache(path: str, reader) -> None:
    """Store the reader's parsed indexes as JSON (sets as sorted lists; the ADJ_SAT alias is restored on read)."""
    from nltk.corpus.reader.wordnet import ADJ_SAT

    data = {"satellite_offsets": sorted(reader.satellite_offsets),
            "_lemma_pos_offset_map": reader._lemma_pos_offset_map,
            "_exception_map": {pos: forms for pos, forms in reader._exception_map.items() if pos != ADJ_SAT}}
    try:
        write_text(path, json.dumps(data, separators=(",", ":")))
        for old in Path(path).parent.glob(_OLD_PICKLE_CACHES):
            old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only cache only costs speed
        log.debug("could not write the WordNet index cache %s: %s", path, exc)


def nltk_data_dir(root: Path | None = None) -> Path:
    """The nltk data root that holds `corpora/wordnet` (add it to `nltk.data.path`)."""
    return (root or cache_dir()) / "nltk_data"


def lexnames_table() -> str:
    """The WordNet lexicographer-file table (`NN<TAB>name<TAB>category`, 45 lines)."""
    return resources.files("molbridge.eval").joinpath("data/wordnet_lexnames.tsv").read_text()


def prepare_wordnet(root: Path | None = None, source: Path = DEBIAN_WORDNET) -> Path:
    """Build `<root>/nltk_data/corpora/wordnet` from Debian's files; return the nltk data root."""
    data_root = nltk_data_dir(root)
    target = data_root / "corpora" / "wordnet"
    if (target / _MARKER).is_file():
        return data_root
    missing = [name for name in _REQUIRED if not (source / name).is_file()]
    if missing:
        raise MissingResourceError(
            f"WordNet 3.0 not found under {source} (missing {', '.join(missing)}); METEOR needs it. "
            "Install the Debian packages: apt-get install wordnet-base wordnet-sense-index"
        )
    with atomic_directory(target) as staging:
        for name in _REQUIRED + _OPTIONAL:
            if (source / name).is_file():
                shutil.copyfile(source / name, staging / name)
        (staging / "lexnames").write_text(lexnames_table())
        (staging / _MARKER).write_text("wordnet 3.0 from " + str(source) + "\n")
    log.info("prepared WordNet for nltk in %s", target)
    return data_root


@lru_cache(maxsize=1)
def load_wordnet():  # -> nltk.corpus.reader.wordnet.WordNetCorpusReader
    """The WordNet reader METEOR uses, prepared on first use."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class WordNet30Reader(WordNetCorpusReader):
        """nltk's reader with a faster start (same synsets; tests compare with nltk's own).

        On start nltk builds a sense map from "WordNet 3.0" to the loaded version (it compares
        the version string with the corpus name, so it always does, re-reading index.sense);
        the map only serves Open Multilingual Wordnet look-ups. This corpus *is* WordNet 3.0,
        so the map is the identity: skip it. The indexes nltk parses at start (lemma → offsets,
        exceptions, adjective satellites) are a pure function of the files and nltk's version:
        they are parsed once and kept as JSON beside the corpus (`_INDEX_CACHE`). Files read
        once at start are opened as plain text files, not through nltk's slower seekable stream
        (the data.* files, which nltk seeks in, keep it).
        """

        def __init__(self, root: str, omw_reader) -> None:
            self._cache_file = os.path.join(root, _INDEX_CACHE.format(version=nltk.__version__))
            self._cached = _read_index_cache(self._cache_file)
            super().__init__(root, omw_reader)
            if self._cached is None:
                _write_index_cache(self._cache_file, self)
            self._cached = None

        def map_wn(self, version: str = "wordnet") -> None:
            return None

        def _restore(self, name: str) -> bool:
            if self._cached is None:
                return False
            setattr(self, name, self._cached[name])
            return True

        def _scan_satellites(self) -> None:
            if not self._restore("satellite_offsets"):
                super()._scan_satellites()

        def _load_lemma_pos_offset_map(self) -> None:
            if not self._restore("_lemma_pos_offset_map"):
                super()._load_lemma_pos_offset_map()

        def _load_exception_map(self) -> None:
            if not self._restore("_exception_map"):
                super()._load_exception_map()

        def open(self, fileid: str):
            if fileid.startswith("index.") or fileid.endswith(".exc") or fileid == "lexnames":
                return open(self.abspath(fileid).path, encoding=self._encoding)
            return super().open(fileid)

    root = str(prepare_wordnet())
    # nltk >= 3.9 only opens corpus roots listed in nltk.data.path.
    if root not in nltk.data.path:
        nltk.data.path.insert(0, root)
    with warnings.catch_warnings():
        # Without the Open Multilingual Wordnet nltk warns once; METEOR is English-only.
        warnings.filterwarnings("ignore", message="The multilingual functions are not available")
        return WordNet30Reader(nltk.data.find("corpora/wordnet"), None)

"""An nltk-readable WordNet 3.0 built offline from Debian's `wordnet-base` files.

METEOR's synonym stage needs WordNet, and `nltk.download` needs the internet. Debian ships the
same WordNet 3.0 database under /usr/share/wordnet but without the `lexnames` table that nltk's
reader requires, so we copy the database into a cache directory and add the 45-line table that
this package carries (`data/wordnet_lexnames.tsv`). Preparation is idempotent: a marker file is
written last, and a half-written directory is rebuilt.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import shutil
import tempfile
import warnings
from functools import lru_cache
from importlib import resources
from pathlib import Path

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


_INDEX_CACHE = ".index-cache-nltk{version}.pickle"
_INDEX_STATE = ("satellite_offsets", "_lemma_pos_offset_map", "_exception_map")


def _read_index_cache(path: str) -> dict | None:
    """The parsed indexes written by a previous start, or None (absent, stale or unreadable)."""
    try:
        with open(path, "rb") as handle:
            gc.disable()  # unpickling ~150k small objects: the collector would triple the time
            try:
                state = pickle.load(handle)
            finally:
                gc.enable()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        return None
    return state if isinstance(state, dict) and set(state) == set(_INDEX_STATE) else None


def _write_index_cache(path: str, state: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
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
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    for name in _REQUIRED + _OPTIONAL:
        if (source / name).is_file():
            shutil.copyfile(source / name, staging / name)
    (staging / "lexnames").write_text(lexnames_table())
    (staging / _MARKER).write_text("wordnet 3.0 from " + str(source) + "\n")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
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
        they are parsed once and kept in a pickle beside the corpus (`_INDEX_CACHE`). Files read
        once at start are opened as plain text files, not through nltk's slower seekable stream
        (the data.* files, which nltk seeks in, keep it).
        """

        def __init__(self, root: str, omw_reader) -> None:
            self._cache_file = os.path.join(root, _INDEX_CACHE.format(version=nltk.__version__))
            self._cached = _read_index_cache(self._cache_file)
            super().__init__(root, omw_reader)
            if self._cached is None:
                _write_index_cache(self._cache_file, {name: getattr(self, name) for name in _INDEX_STATE})
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
                return open(self.abspath(fileid).path, encoding=self._encoding)  # noqa: SIM115 - caller closes
            return super().open(fileid)

    root = str(prepare_wordnet())
    # nltk >= 3.9 only opens corpus roots listed in nltk.data.path.
    if root not in nltk.data.path:
        nltk.data.path.insert(0, root)
    with warnings.catch_warnings():
        # Without the Open Multilingual Wordnet nltk warns once; METEOR is English-only.
        warnings.filterwarnings("ignore", message="The multilingual functions are not available")
        return WordNet30Reader(nltk.data.find("corpora/wordnet"), None)

"""An nltk-readable WordNet 3.0 built offline from Debian's `wordnet-base` files.

METEOR's synonym stage needs WordNet, and `nltk.download` needs the internet. Debian ships the
same WordNet 3.0 database under /usr/share/wordnet but without the `lexnames` table that nltk's
reader requires, so we copy the database into a cache directory and add the 45-line table that
this package carries (`data/wordnet_lexnames.tsv`). Preparation is idempotent: a marker file is
written last, and a half-written directory is rebuilt.
"""

from __future__ import annotations

import logging
import os
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

    root = str(prepare_wordnet())
    # nltk >= 3.9 only opens corpus roots listed in nltk.data.path.
    if root not in nltk.data.path:
        nltk.data.path.insert(0, root)
    with warnings.catch_warnings():
        # Without the Open Multilingual Wordnet nltk warns once; METEOR is English-only.
        warnings.filterwarnings("ignore", message="The multilingual functions are not available")
        return WordNetCorpusReader(nltk.data.find("corpora/wordnet"), None)

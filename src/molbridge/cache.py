"""Where molbridge keeps prepared resources (WordNet, converted tokenizers, model copies)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$MOLBRIDGE_CACHE`, else `$XDG_CACHE_HOME/molbridge`, else `~/.cache/molbridge`."""
    env = os.environ.get("MOLBRIDGE_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "molbridge"

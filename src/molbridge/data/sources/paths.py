"""Paths as a dataset card shows them: files of installed packages by package, never by this machine's layout.

A card built here and read elsewhere should say `qm9pack:data/qm9_part1.csv`, which names the
file on any machine with the package, not `/home/me/.venv/lib/python3.11/site-packages/...`,
which names one machine's directories (and its user name). Python packages (in a
`site-packages` or `dist-packages` directory of `sys.path`) and the Debian data packages that
`molbridge data fetch` unpacks into the cache are both named so.
"""

from __future__ import annotations

import sys
from pathlib import Path

from molbridge.cache import cache_dir

_SITE_DIRS = ("site-packages", "dist-packages")


def _package_roots() -> list[Path]:
    """The directories whose sub-directories are packages (read at each call: sys.path and the cache may change)."""
    sites = [Path(entry) for entry in sys.path if entry and Path(entry).name in _SITE_DIRS]
    return [root.resolve() for root in [*sites, cache_dir() / "debian"]]


def display_path(path: str | Path) -> str:
    """`package:relative/path` for a file inside an installed package's directory; any other path unchanged."""
    resolved = Path(path).resolve()
    for root in _package_roots():
        if resolved.is_relative_to(root):
            parts = resolved.relative_to(root).parts
            if len(parts) > 1:  # a file or folder inside a package, not the package directory itself
                return f"{parts[0]}:{'/'.join(parts[1:])}"
    return str(path)

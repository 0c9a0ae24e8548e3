"""The one way molbridge puts a file or a directory in place: whole or not at all.

A reader, a resumed job or a second process must see either the old content or the complete new
one. So every writer writes a temporary sibling in the same directory (same filesystem, so the
rename is atomic), fsyncs it, `os.replace`s it onto the target, fsyncs the directory, and removes
the temporary on any error. Directories are staged the same way; an existing target directory is
moved aside and deleted only after the new one is in place (two renames: a reader in between
finds no directory, never half of one).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.{suffix}")


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path to write `path`'s new content to (by any library); moved into place on success.

    Use it for writers that take a file name (Parquet, safetensors, matplotlib):
    `with atomic_path(out) as tmp: pq.write_table(table, tmp)`.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, "tmp")
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically; returns the path."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, value: Any, *, indent: int | None = 2) -> Path:
    """Write `value` as JSON (UTF-8, a final newline) to `path` atomically; returns the path."""
    return write_text(path, json.dumps(value, indent=indent, ensure_ascii=False) + "\n")


@contextmanager
def atomic_directory(path: str | os.PathLike, *, replace: bool = True) -> Iterator[Path]:
    """A staging directory to fill; it becomes `path` when the block succeeds.

    `replace=False` is for caches filled by whichever process gets there first: a `path` that
    appeared meanwhile (another process finished the same work) is kept and the staging discarded.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a directory; not replacing it")
    staging = _sibling(target, "partial")
    staging.mkdir()
    try:
        yield staging
        if replace or not target.exists():
            replace_directory(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_directory(staging: Path, target: Path) -> None:
    """Put the complete directory `staging` at `target`, an existing target moved aside and deleted after
    (for staging directories several processes fill, which `atomic_directory` cannot hold). The files are
    flushed to disk first, so a directory in place is never one with unwritten contents."""
    for item in staging.rglob("*"):
        if item.is_file():
            _fsync_file(item)
    _fsync_dir(staging)
    if not target.exists():
        os.replace(staging, target)
    else:
        retired = _sibling(target, "old")
        os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    _fsync_dir(target.parent)

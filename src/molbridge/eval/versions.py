"""Versions of the libraries a number depends on, recorded with every result (provenance)."""

from __future__ import annotations

from importlib import metadata


def package_versions(*names: str) -> dict[str, str]:
    """`{name: version}` for installed distributions ('absent' for missing ones)."""
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out

"""Write one benchmark's section of BENCHMARKS.md, leaving every other section untouched."""

from __future__ import annotations

from pathlib import Path


def write_section(name: str, text: str, target: Path) -> None:
    """Replace the text between `<!-- {name}:start -->` and `<!-- {name}:end -->` (append if absent)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    old = target.read_text() if target.exists() else "# Benchmarks\n\n"
    if start in old:
        head, rest = old.split(start, 1)
        new = head + start + "\n" + text + end + rest.split(end, 1)[1]
    else:
        new = old.rstrip() + "\n\n" + start + "\n" + text + end + "\n"
    target.write_text(new)

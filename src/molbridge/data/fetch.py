"""Fetch Debian data packages into the molbridge cache (`apt-get download` + `dpkg -x`), no system install.

UniProt proteins with GO annotations (metastudent-data, 225 MB, 2014 snapshot of 516 k
proteins) and the GO term table (r-bioc-go.db) come from Debian. Unpacking with `dpkg -x`
into `cache_dir()/debian/PACKAGE` needs no root and touches nothing system-wide. A completion
marker is written last, so an interrupted fetch is redone, never half-used.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from molbridge.atomic import atomic_directory
from molbridge.cache import cache_dir
from molbridge.errors import MissingResourceError

log = logging.getLogger(__name__)
_MARKER = ".molbridge-complete"
UNIPROT_GO = ("metastudent-data", "r-bioc-go.db")
_KEEP = {"metastudent-data": ("usr/share/metastudent-data/dataset_201401/MFO",
                              "usr/share/metastudent-data/dataversion.txt"),
         "r-bioc-go.db": ("usr/lib/R/site-library/GO.db/extdata/GO.sqlite",)}


def package_dir(package: str) -> Path:
    return cache_dir() / "debian" / package


def fetch_debian(package: str) -> Path:
    """Download and unpack `package` into the cache (once); returns its directory."""
    target = package_dir(package)
    if (target / _MARKER).is_file():
        return target
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise MissingResourceError(f"fetching {package} needs Debian's {tool}; on other systems download the "
                                       f"package's files and unpack them into {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        log.info("downloading Debian package %s", package)
        done = subprocess.run(["apt-get", "download", package], cwd=work, capture_output=True, text=True)
        if done.returncode != 0 and os.geteuid() == 0:  # a fresh machine may have no package lists yet
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            done = subprocess.run(["apt-get", "download", package], cwd=work, capture_output=True, text=True)
        debs = list(Path(work).glob(f"{package}_*.deb"))
        if done.returncode != 0 or not debs:
            raise MissingResourceError(f"apt-get download {package} failed: {done.stderr.strip()[-300:]} "
                                       "(run 'apt-get update' first if the package is unknown)")
        unpacked = Path(work) / "root"
        unpack = subprocess.run(["dpkg", "-x", str(debs[0]), str(unpacked)], capture_output=True, text=True)
        if unpack.returncode != 0:
            raise MissingResourceError(f"dpkg -x {debs[0].name} failed: {unpack.stderr.strip()[-300:]}")
        with atomic_directory(target) as staging:
            for relative in _KEEP.get(package, ("",)):
                source, destination = unpacked / relative, staging / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), str(destination))
            (staging / _MARKER).write_text(debs[0].name + "\n")
    return target


def uniprot_go_paths(fetch: bool = True) -> tuple[Path, Path]:
    """(BLAST database prefix of the MF-annotated proteins, GO.sqlite), fetched when `fetch` and absent."""
    if fetch:
        for package in UNIPROT_GO:
            fetch_debian(package)
    proteins = package_dir("metastudent-data") / "usr/share/metastudent-data/dataset_201401/MFO/goasp.fasta"
    go = package_dir("r-bioc-go.db") / "usr/lib/R/site-library/GO.db/extdata/GO.sqlite"
    if not (package_dir("metastudent-data") / _MARKER).is_file() or not go.is_file():
        raise MissingResourceError("UniProt/GO data not fetched; run: molbridge data fetch uniprot-go")
    return proteins, go

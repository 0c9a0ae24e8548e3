"""Remote datasets: a table of pinned sources and one resumable, checksum-verified downloader.

What is pinned. A dataset's `revision` is a full commit id when one was verified (then every
download comes from that commit, whatever the branch says later). A file's `sha256` (and/or
`git_sha1`, its git blob id: the hash a repository's tree records, which pins a file whose
bytes were not available to hash) is set only where it was read from a real source; see each
entry's `provenance`. Nothing else is invented: where a revision or hash was unknown, the first
download records the resolved commit and every file's sha256 in `molbridge-lock.json` (trust on
first use, TOFU) and later downloads into that directory are verified against it.
`RemoteDataset.trust` says which of the two an entry is.

One download path. Files come by plain HTTPS GETs through urllib: GitHub raw files at
`{endpoint}/{owner}/{repo}/{commit}/{path}` and Hugging Face files at
`{endpoint}/datasets/{repo}/resolve/{commit}/{path}` (the URL `hf_hub_download` itself uses);
datasets without a file list are listed at `{endpoint}/api/datasets/{repo}/revision/{rev}?blobs=true`
(what `HfApi.dataset_info(files_metadata=True)` calls), which also resolves a branch to its
commit and gives each LFS file's sha256. `hf_hub_download` does download from a local server
given as `endpoint` (tried) and resumes its own `.incomplete` files, but GitHub files need this
downloader anyway, and it keeps its own cache layout, shows progress only as tqdm bars, does not
hash what it wrote and raises httpx errors. One path gives one progress callback, one Range
resume of a `.part` file, one checksum rule and one offline error for both hosts.

Layout: `cache_dir()/datasets/NAME/<repository path>`, the lock file, and `.molbridge-complete`,
written last; once it exists a fetch returns at once without any request. A file is renamed from
`.part` to its name only after it is verified; a mismatch deletes it and raises `ChecksumError`.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from molbridge import __version__
from molbridge.atomic import write_bytes
from molbridge.cache import cache_dir
from molbridge.errors import FileFormatError, MissingResourceError, MolbridgeError
from molbridge.progress import ProgressFn, report

HF_ENDPOINT = "https://huggingface.co"
GITHUB_ENDPOINT = "https://raw.githubusercontent.com"
LOCK = "molbridge-lock.json"
MARKER = ".molbridge-complete"
_ENV = {"hf-dataset": "MOLBRIDGE_HF_ENDPOINT", "github": "MOLBRIDGE_GITHUB_ENDPOINT"}
_COMMIT = re.compile(r"[0-9a-f]{40}")
_CHUNK = 1 << 20
_ATTEMPTS = 3  # a body that breaks off is continued with a Range request this many times in all
_TIMEOUT = 60.0


class ChecksumError(MolbridgeError, ValueError):
    """A downloaded file whose size or hash differs from the pinned or recorded one; it has been deleted."""

    def __init__(self, path: str, kind: str, expected: str, actual: str, where: str) -> None:
        self.path, self.kind, self.expected, self.actual = path, kind, expected, actual
        super().__init__(f"{path}: {kind} mismatch: expected {expected} ({where}), got {actual}; the download was "
                         "deleted. Run the fetch again; if it fails again the remote file has changed")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its path in the repository, what it holds, and whatever pins it."""

    path: str
    what: str
    sha256: str | None = None
    git_sha1: str | None = None
    size: int | None = None

    @property
    def pinned(self) -> bool:
        return bool(self.sha256 or self.git_sha1)


@dataclass(frozen=True)
class RemoteDataset:
    """A dataset in a GitHub or Hugging Face repository; without `files`, the hub lists them at `revision`."""

    name: str
    kind: Literal["github", "hf-dataset"]
    repo: str
    revision: str
    licence: str
    what: str
    provenance: str
    files: tuple[RemoteFile, ...] = ()

    def __post_init__(self) -> None:
        # A fixed file list is only meaningful at a fixed commit, and raw GitHub has no listing API.
        if self.files and not self.pinned:
            raise ValueError(f"{self.name}: a fixed file list needs a commit id as revision, not {self.revision!r}")
        if self.kind == "github" and not self.files:
            raise ValueError(f"{self.name}: GitHub datasets need a file list")

    @property
    def pinned(self) -> bool:
        return bool(_COMMIT.fullmatch(self.revision))

    @property
    def trust(self) -> str:
        """'pinned': commit and every file hash verified; else which part is trusted on first use."""
        if self.pinned and self.files and all(f.pinned for f in self.files):
            return "pinned"
        return "commit pinned, hashes TOFU" if self.pinned else "TOFU"


_MOLT5 = "754f9bffa4a638e2f1386d0ca19b5c3ed0a5b4aa"
_SLM4MOL = "ccf4333429bba85287d0fc4fc8936f40dffdf1da"
DATASETS: dict[str, RemoteDataset] = {d.name: d for d in (
    RemoteDataset(
        "chebi20", "github", "blender-nlp/MolT5", _MOLT5,
        "BSD-3-Clause (MolT5 repository); captions from ChEBI, CC BY 4.0",
        "ChEBI-20 molecule-caption pairs, TSV (CID, SMILES, description)",
        "commit = MolT5 HEAD; blob ids from its git tree; validation/test sha256 of ../shared copies with those ids",
        (RemoteFile("ChEBI-20_data/train.txt", "train split", git_sha1="c1b42b82fdc8fb5287614e159196e25370763aac"),
         RemoteFile("ChEBI-20_data/validation.txt", "validation split (3,301 rows)",
                    "f410b58e6825986577d01b4f0c14b59ed61c1343a15118ba584de4bbcea1508c",
                    "694d328d621966d5c9ad0f36083fdfcf293191d5", 1289422),
         RemoteFile("ChEBI-20_data/test.txt", "test split (3,300 rows)",
                    "91776254b54ef13ad701ede0ecdbd7bcd30c19a66e52aa34a6dac8d0e7306d72",
                    "cf6da70d55c2745c6e64cf6864ea8cdbcdc80663", 1274868))),
    RemoteDataset(
        "chebi20-mm", "github", "AI-HPC-Research-Team/SLM4Mol", _SLM4MOL, "MIT",
        "ChEBI-20-MM tables, CSV (CID, SMILES, description, polararea, xlogp, inchi, iupacname, SELFIES)",
        "commit = SLM4Mol HEAD; blob ids from its git tree; validation/test sha256 of ../shared copies with those ids",
        (RemoteFile("datasets/ChEBI-20-MM/train.csv", "train split",
                    git_sha1="1426fe9125a1c96f26e292dc55062878656709c9"),
         RemoteFile("datasets/ChEBI-20-MM/validation.csv", "validation split",
                    "4cd2fb204ddc53ae2f6b6229806d9bde68de84358ebd5627f96eb603b1a3ba1f",
                    "1f9c00a6903e8e7ff0dadd5e18dc28b717449bb7", 3165253),
         RemoteFile("datasets/ChEBI-20-MM/test.csv", "test split",
                    "1c71eab08cfaa4f8557aa66042f8cd47084855f8309a7962866be1f1721ddb0d",
                    "7bd2e98f96649279b4846d079b4781b7b22b1217", 3085805))),
    RemoteDataset(
        "chebi20-mm-images", "hf-dataset", "liupf/ChEBI-20-MM", "bed553fe2f0f76baf1ede2ac000b987351f34a58", "MIT",
        "ChEBI-20-MM molecule images (PubChem PNGs, image/CID_<cid>.png inside the zip)",
        "commit and LFS sha256 from the Hub's file page at that commit",
        (RemoteFile("image.zip", "molecule images",
                    "d5c20d2d1721d9b9de3bbd05e8ccf641724dbad73efd7e5e851e4acf0a6c0496"),)),
    RemoteDataset(
        "mol-instructions", "hf-dataset", "zjunlp/Mol-Instructions", "7046749ae12eba3fe9fc54f146fb938d75569891",
        "CC BY 4.0", "Mol-Instructions: per-task JSON lists (instruction, input, output, metadata) in three zips",
        "commit = last data/script change; LFS sha256 and sizes from the Hub's file pages and commit diffs",
        (RemoteFile("data/Molecule-oriented_Instructions.zip", "molecule-oriented instructions",
                    "2c3d875bb9f1d7ce3aaec3377dca555dfff98fe598c8e946d5d8f41ca28faf1a", size=73164045),
         RemoteFile("data/Protein-oriented_Instructions.zip", "protein-oriented instructions",
                    "54bbdf638eaa49e77c70f52b2f9daa28e2bbb092628529f974f7c59204be3865", size=190014170),
         RemoteFile("data/Biomolecular_Text_Instructions.zip", "biomolecular text instructions",
                    "a91db2817467bb52c38a78e278c7f03cf55511e70cc5b68c3f97065eb7b12cb0", size=6955949))),
    RemoteDataset(
        "3d-moit", "hf-dataset", "Sihangli/3D-MoIT", "35255a487ecbc2ed47ff2f384be3b67b5f993c96", "Apache-2.0",
        "3D-MoIT: instruction JSON (input = PubChem CID) and LMDB conformers under 3d-mol-dataset/",
        "commit = 'Upload 26 files' seen on the Hub; the file list and hashes come from the Hub at that commit (TOFU)"),
    RemoteDataset(
        "sepit-data", "hf-dataset", "U-rara/SEPIT-Data", "main", "not stated in the sources read: see the dataset card",
        "SEPIT: stage0-2 JSONL conversations, pdb.h5 structures, qa_test.jsonl",
        "no commit could be verified offline: main is resolved and recorded on first download (TOFU)"),
    RemoteDataset(
        "smolinstruct", "hf-dataset", "osunlp/SMolInstruct", "d2395dcb525f782b3021e9dcf2ebc58eb2b3d771", "CC BY 4.0",
        "SMolInstruct v1.2.0 (LlaSMol): tagged JSON samples of 14 chemistry tasks in one zip",
        "commit = v1.2.0, the last data.zip change (v1.3.x changed only the loading script); LFS sha256 from the Hub",
        (RemoteFile("data.zip", "all tasks and splits",
                    "8598664507b0b7768ed34f70db194625e60fc67a14e6fa4fa415952d52c45150"),)),
)}


def get_dataset(name: str) -> RemoteDataset:
    """The table entry for `name`, or a MissingResourceError listing the names there are."""
    if name not in DATASETS:
        raise MissingResourceError(f"unknown remote dataset {name!r}; available: {', '.join(DATASETS)}")
    return DATASETS[name]


def default_dest(name: str) -> Path:
    """`cache_dir()/datasets/NAME`: one folder per dataset, shared by every run that reads it."""
    return cache_dir() / "datasets" / name


def fetched_dir(name: str) -> Path:
    """Where a completely fetched dataset lies, for readers that declare `remote=NAME`; says how to fetch it."""
    target = default_dest(get_dataset(name).name)
    if not (target / MARKER).is_file():
        raise MissingResourceError(f"dataset {name!r} is not fetched; run: molbridge data fetch {name}")
    return target


def fetch_dataset(name: str, *, dest: str | Path | None = None, endpoint: str | None = None,
                  progress: ProgressFn | None = None) -> Path:
    """Download every file of the table's dataset `name`; see `fetch`."""
    return fetch(get_dataset(name), dest=dest, endpoint=endpoint, progress=progress)


def fetch(spec: RemoteDataset, *, dest: str | Path | None = None, endpoint: str | None = None,
          progress: ProgressFn | None = None) -> Path:
    """Download, verify and record every file of `spec` into `dest` (default: the cache); returns the directory.

    Rerun after an interruption to resume: verified files stay, `.part` files continue by Range.
    """
    target = Path(dest) if dest is not None else default_dest(spec.name)
    if (target / MARKER).is_file():
        return target
    base = _endpoint(spec.kind, endpoint)
    target.mkdir(parents=True, exist_ok=True)
    lock = _read_lock(target, spec)
    commit, files, listed = (lock["commit"], spec.files, {}) if spec.files else _list_hub(spec, base, lock["commit"])
    lock["commit"] = commit
    for file in files:
        known = lock["files"].get(file.path) or listed.get(file.path, {})
        lock["files"][file.path] = _fetch_file(spec.name, file, _url(spec, base, commit, file.path),
                                               target / file.path, known, progress)
        write_bytes(target / LOCK, _json(lock))
    write_bytes(target / MARKER, _json({"dataset": spec.name, "repo": spec.repo, "commit": commit}))
    return target


def _endpoint(kind: str, endpoint: str | None) -> str:
    """The argument, else $MOLBRIDGE_HF_ENDPOINT (or the hub's own $HF_ENDPOINT) / $MOLBRIDGE_GITHUB_ENDPOINT."""
    fallback = (os.environ.get("HF_ENDPOINT") or HF_ENDPOINT) if kind == "hf-dataset" else GITHUB_ENDPOINT
    return (endpoint or os.environ.get(_ENV[kind]) or fallback).rstrip("/")


def _url(spec: RemoteDataset, base: str, commit: str, path: str) -> str:
    if spec.kind == "github":
        return f"{base}/{spec.repo}/{quote(commit, safe='')}/{quote(path)}"
    return f"{base}/datasets/{spec.repo}/resolve/{quote(commit, safe='')}/{quote(path)}"


def _read_lock(target: Path, spec: RemoteDataset) -> dict:
    """The lock of an earlier, unfinished fetch of the same repository (and, when pinned, commit), else a new one."""
    fresh = {"dataset": spec.name, "kind": spec.kind, "repo": spec.repo, "revision": spec.revision,
             "commit": spec.revision, "files": {}}
    path = target / LOCK
    if not path.is_file():
        return fresh
    old = json.loads(path.read_text())
    same = old.get("repo") == spec.repo and (not spec.pinned or old.get("commit") == spec.revision)
    return old if same else fresh


def _list_hub(spec: RemoteDataset, base: str, revision: str) -> tuple[str, tuple[RemoteFile, ...], dict]:
    """(commit, files, hashes the hub states) at `revision`: an LFS file's sha256, another file's git blob id."""
    url = f"{base}/api/datasets/{spec.repo}/revision/{quote(revision, safe='')}?blobs=true"
    with _open(url, {}, spec.name) as response:
        listing = json.loads(response.read())
    if not isinstance(listing.get("siblings"), list):
        raise FileFormatError(url, None, "the answer lists no files ('siblings'); is the endpoint a Hugging Face hub?")
    siblings = [s for s in listing["siblings"] if s["rfilename"] != ".gitattributes"]
    for sibling in siblings:  # the listing decides where files are written: keep them inside the dataset folder
        name = sibling["rfilename"]
        if name.startswith("/") or ".." in Path(name).parts:
            raise FileFormatError(url, None, f"listed file {name!r} would be written outside the dataset folder")
    stated = {s["rfilename"]: {"sha256": (s.get("lfs") or {}).get("sha256"), "size": s.get("size"),
                               "git_sha1": None if s.get("lfs") else s.get("blobId")} for s in siblings}
    return listing.get("sha") or revision, tuple(RemoteFile(name, "listed by the hub") for name in stated), stated


def _fetch_file(dataset: str, file: RemoteFile, url: str, final: Path, known: dict,
                progress: ProgressFn | None) -> dict:
    """Download one file unless it is there and verified; returns its lock record. `known`: hashes not in the table."""
    expected = {key: getattr(file, key) or known.get(key) for key in ("sha256", "git_sha1", "size")}
    trust = "pinned" if file.pinned else "tofu"
    if final.is_file():
        actual = _hashes(final)
        if _mismatch(expected, actual) is None:
            report(progress, f"fetch {file.path}", actual["size"], actual["size"], unit="bytes")
            return {**actual, "trust": trust}
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    _download(url, part, file.path, expected["size"], dataset, progress)
    actual = _hashes(part)
    wrong = _mismatch(expected, actual)
    if wrong is not None:
        part.unlink()
        where = "molbridge's table" if file.pinned else f"the hub's listing or {LOCK}"
        raise ChecksumError(file.path, wrong, str(expected[wrong]), str(actual[wrong]), where)
    os.replace(part, final)
    return {**actual, "trust": trust}


def _hashes(path: Path) -> dict:
    """sha256, git blob id (sha1 of 'blob SIZE\\0' + bytes) and size of a file, in one read."""
    size = path.stat().st_size
    sha256, git = hashlib.sha256(), hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha256.update(chunk)
            git.update(chunk)
    return {"sha256": sha256.hexdigest(), "git_sha1": git.hexdigest(), "size": size}


def _mismatch(expected: dict, actual: dict) -> str | None:
    """The first of size, sha256, git_sha1 that is known and differs."""
    keys = ("size", "sha256", "git_sha1")
    return next((key for key in keys if expected[key] is not None and expected[key] != actual[key]), None)


def _download(url: str, part: Path, label: str, size: int | None, dataset: str, progress: ProgressFn | None) -> None:
    """GET `url` into `part`, continuing what is there by Range; a body that breaks off is continued again."""
    for _ in range(_ATTEMPTS):
        done = part.stat().st_size if part.exists() else 0
        if size is not None and done >= size:
            return  # complete (or too long: verification decides)
        headers = {"Range": f"bytes={done}-"} if done else {}
        try:
            response = _open(url, headers, dataset)
        except _RangeDone:
            return
        if _receive(response, part, done, label, progress):
            return
    raise MissingResourceError(f"the download of {url} broke off {_ATTEMPTS} times ({part.stat().st_size} bytes "
                               "kept); run the fetch again to continue")


def _receive(response: http.client.HTTPResponse, part: Path, done: int, label: str,
             progress: ProgressFn | None) -> bool:
    """Append (206) or write afresh (200) the body to `part`; False when it broke off before its end."""
    with response:
        if response.status != 206:
            done = 0  # the server ignored the Range: start over
        length = response.getheader("Content-Length")
        total = done + int(length) if length is not None else None
        with open(part, "ab" if done else "wb") as out:
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    report(progress, f"fetch {label}", done, total, unit="bytes")
            except (OSError, http.client.HTTPException):
                return False
            finally:
                out.flush()
                os.fsync(out.fileno())
    return total is None or done >= total


class _RangeDone(Exception):
    """HTTP 416 to a Range request: nothing left to send, the `.part` file is complete."""


def _open(url: str, headers: dict, dataset: str) -> http.client.HTTPResponse:
    """urlopen, with connection failures and HTTP errors turned into MissingResourceError saying what to do."""
    request = urllib.request.Request(url, headers={"User-Agent": f"molbridge/{__version__}", **headers})
    try:
        return urllib.request.urlopen(request, timeout=_TIMEOUT)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and "Range" in headers:
            raise _RangeDone from None
        hint = {401: "the dataset may be gated or private", 403: "the dataset may be gated or private",
                404: "the repository, revision or file may have moved"}.get(exc.code, "run the fetch again later")
        raise MissingResourceError(f"{url} answered HTTP {exc.code} {exc.reason}: {hint}") from None
    except (OSError, http.client.HTTPException) as exc:  # refused, DNS failure, timeout (URLError is an OSError)
        reason = getattr(exc, "reason", exc)
        raise MissingResourceError(
            f"fetching {dataset} needs a network connection: {url} could not be reached ({reason}). To download "
            "from a mirror, set MOLBRIDGE_HF_ENDPOINT / MOLBRIDGE_GITHUB_ENDPOINT or pass the endpoint argument "
            "(--endpoint)") from None


def _json(data: dict) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()

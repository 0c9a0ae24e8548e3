"""Remote datasets: downloads from a local HTTP server with Range support, never the internet."""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from typer.testing import CliRunner

from molbridge.cli.main import app
from molbridge.data.remote import (
    DATASETS,
    LOCK,
    MARKER,
    ChecksumError,
    RemoteDataset,
    RemoteFile,
    fetch,
    fetch_dataset,
    fetched_dir,
)
from molbridge.errors import FileFormatError, MissingResourceError
from tests.conftest import SHARED_DATA, require

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TRAIN = random.Random(0).randbytes(300_000)
TEST = b"CID\tSMILES\tdescription\n1\tCCO\tThe molecule is ethanol.\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Server:
    """What the fixture server serves (URL path -> bytes), what it was asked, and how it misbehaves."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    drop_once: set[str] = field(default_factory=set)  # send half the body, then close the connection
    redirects: dict[str, str] = field(default_factory=dict)  # as the hub sends LFS files to its CDN
    ignore_range: bool = False


def _handler(state: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path, wanted = unquote(urlsplit(self.path).path), self.headers.get("Range")
            state.requests.append((path, wanted))
            if path in state.redirects:
                self.send_response(302)
                self.send_header("Location", state.url + state.redirects[path])
                self.end_headers()
                return
            if path not in state.files:
                self.send_error(404)
                return
            body, start = state.files[path], 0
            if wanted and not state.ignore_range:
                start = int(wanted.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.end_headers()
                    return
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(body) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.end_headers()
            if path in state.drop_once:
                state.drop_once.discard(path)
                self.wfile.write(body[start:start + (len(body) - start) // 2])
                return  # HTTP/1.0: returning closes the connection before the promised length
            self.wfile.write(body[start:])

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def github_spec(train_sha256: str | None = None) -> RemoteDataset:
    return RemoteDataset(
        "fixture-gh", "github", "org/repo", COMMIT, "CC0", "fixture", "made in the test",
        (RemoteFile("data/train.txt", "train", train_sha256 or sha256(TRAIN), size=len(TRAIN)),
         RemoteFile("data/test.txt", "test", git_sha1=git_sha1(TEST))))


def serve_github(server: Server) -> None:
    server.files[f"/org/repo/{COMMIT}/data/train.txt"] = TRAIN
    server.files[f"/org/repo/{COMMIT}/data/test.txt"] = TEST


def test_fresh_fetch_downloads_verifies_and_records_every_file(server: Server, tmp_path: Path) -> None:
    serve_github(server)
    seen: list[tuple[str, int, int | None]] = []
    out = fetch(github_spec(), dest=tmp_path / "ds", endpoint=server.url,
                progress=lambda e: seen.append((e.stage.removeprefix("fetch "), e.done, e.total)))
    assert (out / "data/train.txt").read_bytes() == TRAIN and (out / "data/test.txt").read_bytes() == TEST
    lock = json.loads((out / LOCK).read_text())
    assert lock["commit"] == COMMIT and lock["repo"] == "org/repo"
    assert lock["files"]["data/train.txt"] == {"sha256": sha256(TRAIN), "git_sha1": git_sha1(TRAIN),
                                               "size": len(TRAIN), "trust": "pinned"}
    assert lock["files"]["data/test.txt"]["sha256"] == sha256(TEST)  # recorded, though the table pins the blob id
    assert json.loads((out / MARKER).read_text())["commit"] == COMMIT
    assert not list(out.rglob("*.part")) and not list(out.rglob("*.tmp"))
    assert seen[-1] == ("data/test.txt", len(TEST), len(TEST)) and ("data/train.txt", len(TRAIN), len(TRAIN)) in seen


def test_hugging_face_files_come_from_the_resolve_url_and_resume_through_its_redirect(
        server: Server, tmp_path: Path) -> None:
    spec = RemoteDataset("fixture-hf", "hf-dataset", "org/ds", COMMIT, "CC0", "fixture", "test",
                         (RemoteFile("data/x.zip", "zip", sha256(TRAIN)),))
    resolve = f"/datasets/org/ds/resolve/{COMMIT}/data/x.zip"
    server.redirects[resolve] = "/cdn/x.zip"
    server.files["/cdn/x.zip"] = TRAIN
    server.drop_once.add("/cdn/x.zip")
    assert (fetch(spec, dest=tmp_path, endpoint=server.url) / "data/x.zip").read_bytes() == TRAIN
    half = f"bytes={len(TRAIN) // 2}-"
    assert server.requests == [(resolve, None), ("/cdn/x.zip", None), (resolve, half), ("/cdn/x.zip", half)]


def test_a_download_that_breaks_off_continues_with_a_range_request(server: Server, tmp_path: Path) -> None:
    serve_github(server)
    path = f"/org/repo/{COMMIT}/data/train.txt"
    server.drop_once.add(path)
    out = fetch(github_spec(), dest=tmp_path, endpoint=server.url)
    assert (out / "data/train.txt").read_bytes() == TRAIN
    assert [r for r in server.requests if r[0] == path] == [(path, None), (path, f"bytes={len(TRAIN) // 2}-")]


def test_a_half_part_file_from_an_earlier_run_is_resumed(server: Server, tmp_path: Path) -> None:
    serve_github(server)
    (tmp_path / "data").mkdir()
    (tmp_path / "data/train.txt.part").write_bytes(TRAIN[:1000])
    out = fetch(github_spec(), dest=tmp_path, endpoint=server.url)
    assert (out / "data/train.txt").read_bytes() == TRAIN
    assert (f"/org/repo/{COMMIT}/data/train.txt", "bytes=1000-") in server.requests


def test_a_server_that_ignores_range_makes_the_download_start_over(server: Server, tmp_path: Path) -> None:
    serve_github(server)
    server.ignore_range = True
    (tmp_path / "data").mkdir()
    (tmp_path / "data/train.txt.part").write_bytes(b"stale bytes")
    assert (fetch(github_spec(), dest=tmp_path, endpoint=server.url) / "data/train.txt").read_bytes() == TRAIN


def test_a_checksum_mismatch_raises_and_leaves_no_file(server: Server, tmp_path: Path) -> None:
    serve_github(server)
    with pytest.raises(ChecksumError) as caught:
        fetch(github_spec(train_sha256="0" * 64), dest=tmp_path, endpoint=server.url)
    message = str(caught.value)
    assert "data/train.txt" in message and "0" * 64 in message and sha256(TRAIN) in message
    assert not (tmp_path / "data/train.txt").exists() and not (tmp_path / "data/train.txt.part").exists()
    assert not (tmp_path / MARKER).exists()


def test_a_refused_connection_says_the_dataset_needs_a_network(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(MissingResourceError) as caught:
        fetch(github_spec(), dest=tmp_path, endpoint=f"http://127.0.0.1:{port}")
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/org/repo/{COMMIT}/data/train.txt" in message
    assert "network" in message and "MOLBRIDGE_GITHUB_ENDPOINT" in message and "endpoint" in message


def test_a_missing_file_names_the_url_and_the_status(server: Server, tmp_path: Path) -> None:
    with pytest.raises(MissingResourceError, match=r"/data/train.txt answered HTTP 404"):
        fetch(github_spec(), dest=tmp_path, endpoint=server.url)


def test_a_second_fetch_makes_no_request_and_verified_files_are_never_downloaded_again(
        server: Server, tmp_path: Path) -> None:
    serve_github(server)
    fetch(github_spec(), dest=tmp_path, endpoint=server.url)
    server.requests.clear()
    assert fetch(github_spec(), dest=tmp_path, endpoint=server.url) == tmp_path and server.requests == []
    (tmp_path / MARKER).unlink()  # as if the run had stopped after its last file
    fetch(github_spec(), dest=tmp_path, endpoint=server.url)
    assert server.requests == [] and (tmp_path / MARKER).is_file()


def serve_sepit(server: Server, lfs: bytes, blob: bytes, commit: str = "b" * 40) -> None:
    """The hub's listing of U-rara/SEPIT-Data at main and at its commit, and the two files at that commit."""
    listing = {"sha": commit, "siblings": [
        {"rfilename": ".gitattributes", "size": 10},
        {"rfilename": "pdb.h5", "size": len(lfs), "blobId": "f" * 40,
         "lfs": {"sha256": sha256(lfs), "size": len(lfs), "pointerSize": 134}},
        {"rfilename": "stage2/qa_test.jsonl", "size": len(blob), "blobId": git_sha1(blob)}]}
    for revision in ("main", commit):
        server.files[f"/api/datasets/U-rara/SEPIT-Data/revision/{revision}"] = json.dumps(listing).encode()
    server.files[f"/datasets/U-rara/SEPIT-Data/resolve/{commit}/pdb.h5"] = lfs
    server.files[f"/datasets/U-rara/SEPIT-Data/resolve/{commit}/stage2/qa_test.jsonl"] = blob


def test_unpinned_dataset_records_the_commit_and_hashes_then_holds_later_downloads_to_them(
        server: Server, tmp_path: Path) -> None:
    serve_sepit(server, TRAIN, TEST)
    out = fetch_dataset("sepit-data", dest=tmp_path, endpoint=server.url)
    assert (out / "pdb.h5").read_bytes() == TRAIN and (out / "stage2/qa_test.jsonl").read_bytes() == TEST
    assert not (out / ".gitattributes").exists()
    lock = json.loads((out / LOCK).read_text())
    assert lock["revision"] == "main" and lock["commit"] == "b" * 40
    assert {r["trust"] for r in lock["files"].values()} == {"tofu"}
    assert lock["files"]["pdb.h5"]["sha256"] == sha256(TRAIN)
    # The same commit later serves other bytes: the file recorded on first use must not change.
    (out / MARKER).unlink()
    (out / "pdb.h5").unlink()
    serve_sepit(server, TRAIN[::-1], TEST)
    server.requests.clear()
    with pytest.raises(ChecksumError, match=r"pdb.h5: sha256 mismatch.*molbridge-lock.json"):
        fetch_dataset("sepit-data", dest=tmp_path, endpoint=server.url)
    assert server.requests[0][0] == f"/api/datasets/U-rara/SEPIT-Data/revision/{'b' * 40}"


def test_a_hub_listing_cannot_write_outside_the_dataset_folder(server: Server, tmp_path: Path) -> None:
    listing = {"sha": "c" * 40, "siblings": [{"rfilename": "../escape.txt", "size": 3, "blobId": "0" * 40}]}
    server.files["/api/datasets/U-rara/SEPIT-Data/revision/main"] = json.dumps(listing).encode()
    with pytest.raises(FileFormatError, match="outside the dataset folder"):
        fetch_dataset("sepit-data", dest=tmp_path / "ds", endpoint=server.url)
    assert not (tmp_path / "escape.txt").exists()


def test_fetched_dir_says_how_to_fetch_until_the_dataset_is_complete(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOLBRIDGE_CACHE", str(tmp_path))
    with pytest.raises(MissingResourceError, match="molbridge data fetch sepit-data"):
        fetched_dir("sepit-data")
    serve_sepit(server, TRAIN, TEST)
    assert fetch_dataset("sepit-data", endpoint=server.url) == fetched_dir("sepit-data")
    assert fetched_dir("sepit-data") == tmp_path / "datasets" / "sepit-data"


def test_cli_lists_the_table_and_fetches_a_dataset_from_the_endpoint(server: Server, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["data", "fetch", "--list"])
    assert listed.exit_code == 0, listed.output
    for name in (*DATASETS, "uniprot-go"):
        assert name in listed.stdout
    assert "754f9bffa4a6" in listed.stdout and "TOFU" in listed.stdout and "CC BY 4.0" in listed.stdout
    serve_sepit(server, TRAIN, TEST)
    done = runner.invoke(app, ["data", "fetch", "sepit-data", "--endpoint", server.url, "--dest", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert f"sepit-data: {tmp_path}" in done.stdout and (tmp_path / "pdb.h5").read_bytes() == TRAIN
    unknown = runner.invoke(app, ["data", "fetch", "chebi-21"])
    assert unknown.exit_code == 2 and "chebi20" in unknown.output


def test_cli_reports_an_offline_fetch_as_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(app, ["data", "fetch", "chebi20", "--endpoint", f"http://127.0.0.1:{port}",
                                      "--dest", str(tmp_path)])
    assert result.exit_code == 2 and "needs a network connection" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["chebi20", "chebi20-mm"])
def test_pinned_hashes_match_the_real_shared_splits(name: str) -> None:
    folder = require(SHARED_DATA / ("chebi20" if name == "chebi20" else "chebi20-mm"))
    for file in DATASETS[name].files:
        if file.sha256 is None:
            continue  # the train split is not available offline: pinned by its git blob id only
        data = (folder / Path(file.path).name).read_bytes()
        assert (sha256(data), git_sha1(data), len(data)) == (file.sha256, file.git_sha1, file.size)


def test_the_table_pins_what_it_can_and_says_what_is_trusted_on_first_use() -> None:
    assert set(DATASETS) >= {"chebi20", "chebi20-mm", "mol-instructions", "3d-moit", "sepit-data", "smolinstruct"}
    assert {n for n, d in DATASETS.items() if d.trust == "pinned"} == {
        "chebi20", "chebi20-mm", "chebi20-mm-images", "mol-instructions", "smolinstruct"}
    assert DATASETS["3d-moit"].trust == "commit pinned, hashes TOFU" and DATASETS["sepit-data"].trust == "TOFU"
    assert [Path(f.path).name for f in DATASETS["chebi20"].files] == ["train.txt", "validation.txt", "test.txt"]
    with pytest.raises(ValueError, match="commit id"):
        RemoteDataset("x", "hf-dataset", "a/b", "main", "", "", "", (RemoteFile("f", "f", "0" * 64),))

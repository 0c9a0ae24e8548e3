"""The one atomic-write helper and the one progress policy."""

from __future__ import annotations

import json

import pytest

from molbridge.atomic import atomic_directory, atomic_path, write_json, write_text
from molbridge.progress import Progress, report


class Boom(Exception):
    pass


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path) -> None:
    target = tmp_path / "a.txt"
    write_text(target, "old")
    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise Boom
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    write_json(tmp_path / "sub" / "b.json", {"x": "é"})  # parents made, UTF-8 kept
    assert json.loads((tmp_path / "sub" / "b.json").read_text(encoding="utf-8")) == {"x": "é"}


def test_a_directory_is_replaced_whole_or_not_at_all(tmp_path) -> None:
    target = tmp_path / "index"
    with atomic_directory(target) as staging:
        (staging / "one").write_text("1")
    with pytest.raises(Boom), atomic_directory(target) as staging:
        (staging / "two").write_text("2")
        raise Boom
    assert [p.name for p in target.iterdir()] == ["one"] and [p.name for p in tmp_path.iterdir()] == ["index"]
    with atomic_directory(target) as staging:
        (staging / "two").write_text("2")
    assert [p.name for p in target.iterdir()] == ["two"] and [p.name for p in tmp_path.iterdir()] == ["index"]
    with atomic_directory(target, replace=False) as staging:  # another process got there first: its copy stays
        (staging / "three").write_text("3")
    assert [p.name for p in target.iterdir()] == ["two"] and [p.name for p in tmp_path.iterdir()] == ["index"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError), atomic_directory(tmp_path / "file"):
        pass


def test_progress_events_reach_the_callback_and_the_log(caplog) -> None:
    seen: list[Progress] = []
    with caplog.at_level("DEBUG", logger="molbridge.progress"):
        report(seen.append, "train", 3, 10, unit="steps", note="loss 0.5", values={"loss": 0.5})
        report(None, "build", 7)  # no callback: logged only
    assert seen == [Progress("train", 3, 10, "steps", "loss 0.5", {"loss": 0.5})]
    assert "train: 3/10 steps loss 0.5" in caplog.text and "build: 7/? items" in caplog.text

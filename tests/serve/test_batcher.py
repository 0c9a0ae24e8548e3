"""The generation batcher: waiting requests answered together, a cancelled one (its client left) costs nothing,
a failure reaches only its batch, and closing answers what is queued."""

from __future__ import annotations

import threading

import pytest

from molbridge.serve.batcher import Batcher


class Recorder:
    """An answer function that records its batches and can be held until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def __call__(self, items: list[str], max_new_tokens: int | None) -> list[str]:
        self.entered.set()
        self.release.wait(10)
        self.batches.append(list(items))
        if "boom" in items:
            raise RuntimeError("generation failed")
        return [f"{item}:{max_new_tokens}" for item in items]


def test_waiting_requests_share_a_batch_in_order() -> None:
    answer = Recorder()
    answer.release.clear()
    batcher = Batcher("t", answer, max_batch=8, wait_s=0.05)
    first = batcher.submit(["a"], 4)  # taken at once; held while the others queue
    assert answer.entered.wait(10)
    rest = [batcher.submit([x, x + "2"], 4) for x in "bcd"]
    answer.release.set()
    assert first.result(10) == ["a:4"]
    assert [f.result(10) for f in rest] == [["b:4", "b2:4"], ["c:4", "c2:4"], ["d:4", "d2:4"]]
    assert answer.batches[1:] == [["b", "b2", "c", "c2", "d", "d2"]]
    batcher.close(10)


def test_batches_keep_to_their_size_and_token_budget() -> None:
    answer = Recorder()
    answer.release.clear()
    batcher = Batcher("t", answer, max_batch=3, wait_s=0.05)
    held = batcher.submit(["x"], 1)
    assert answer.entered.wait(10)
    futures = [batcher.submit(["a", "b"], 8), batcher.submit(["c"], 8), batcher.submit(["d"], 8),
               batcher.submit(["e"], 16)]
    answer.release.set()
    assert [f.result(10) for f in [held, *futures]] == [["x:1"], ["a:8", "b:8"], ["c:8"], ["d:8"], ["e:16"]]
    assert all(len(batch) <= 3 for batch in answer.batches)
    assert ["e"] in answer.batches  # another budget is never mixed in
    batcher.close(10)


def test_a_cancelled_request_is_never_generated() -> None:
    answer = Recorder()
    answer.release.clear()
    batcher = Batcher("t", answer, max_batch=8, wait_s=0.05)
    held = batcher.submit(["first"], 4)
    assert answer.entered.wait(10)
    gone = batcher.submit(["left"], 4)
    assert gone.cancel()  # the client disconnected while it waited
    kept = batcher.submit(["stays"], 4)
    answer.release.set()
    assert held.result(10) == ["first:4"] and kept.result(10) == ["stays:4"]
    assert all("left" not in batch for batch in answer.batches)
    batcher.close(10)


def test_a_failure_reaches_its_batch_only_and_the_worker_goes_on() -> None:
    answer = Recorder()
    batcher = Batcher("t", answer, max_batch=1, wait_s=0.0)
    failed = batcher.submit(["boom"], 4)
    with pytest.raises(RuntimeError, match="generation failed"):
        failed.result(10)
    assert batcher.submit(["fine"], 4).result(10) == ["fine:4"]
    batcher.close(10)


def test_close_answers_what_is_queued() -> None:
    answer = Recorder()
    answer.release.clear()
    batcher = Batcher("t", answer, max_batch=1, wait_s=0.0)
    futures = [batcher.submit([str(i)], 2) for i in range(4)]
    closing = threading.Thread(target=batcher.close, args=(10,))
    closing.start()
    answer.release.set()
    closing.join(10)
    assert [f.result(0) for f in futures] == [["0:2"], ["1:2"], ["2:2"], ["3:2"]]
